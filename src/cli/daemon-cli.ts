import { DAEMON_PHASE_ENV, installInChild, teardownInChild } from '../modes/daemon-phase-child.js';
import { terminationSignal } from '../modes/daemon-signals.js';
import { daemonExitCode, superviseDaemon, type SupervisorLog } from '../modes/daemon-supervisor.js';

/**
 * Whether this run is `kata-deploy daemon` itself, the long-lived process, rather than another command or
 * one of the daemon's phase children (which carry KATA_DEPLOY_DAEMON_PHASE, see daemon-phase-child.ts).
 */
export function isIdleDaemon(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): boolean {
  return argv[0] === 'daemon' && env[DAEMON_PHASE_ENV] === undefined;
}

/**
 * `kata-deploy daemon`, the DaemonSet entrypoint, as the long-lived process. It parses nothing itself:
 * the install runs in a child started with the same arguments (the full CLI: settings, logs, Kubernetes,
 * payload), which tells it where to serve /healthz and /readyz and how to log before it installs; on
 * SIGTERM another child decides and tears down. So the idle daemon holds node:http and this, no more.
 */
export async function superviseFromCli(argv: readonly string[]): Promise<number> {
  const termination = terminationSignal();
  let log: SupervisorLog | undefined;
  try {
    const exit = await superviseDaemon({
      installPhase: (start) =>
        installInChild(argv, (setup) => {
          log = setup.log;
          return start(setup);
        }),
      teardownPhase: () => teardownInChild(argv),
      terminated: termination.signal,
    });
    log?.info({ exit: exit.kind }, 'kata-deploy daemon exiting');
    return daemonExitCode(exit);
  } finally {
    termination.dispose();
  }
}
