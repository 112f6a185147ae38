import { asKataDeployError } from '../core/errors.js';
import { startHealthServer, type HealthServer } from './daemon-health.js';
import type { DaemonExit } from './daemon-types.js';

/** The few lines the supervisor logs itself; pino's logger fits, and so does daemon-supervisor-log.ts. */
export interface SupervisorLog {
  info(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** Where the daemon serves /healthz and /readyz and how it logs, as the install phase's settings say. */
export interface DaemonStart {
  readonly healthPort: number;
  readonly healthHost?: string;
  readonly log: SupervisorLog;
}

/** What the install phase itself returns: the node installed and labelled, or the install failed. */
export type InstallPhaseResult = { readonly kind: 'ready' } | Extract<DaemonExit, { kind: 'install-failed' }>;

/**
 * How the install phase ended: the node installed and labelled; the install failed; skipped, because
 * SIGTERM came before it began; or not started: the phase ended before it said where to serve (`--help`,
 * a usage error), having printed why, with this exit status.
 */
export type InstallPhaseEnd =
  | InstallPhaseResult
  | { readonly kind: 'skipped' }
  | { readonly kind: 'not-started'; readonly exitCode: number };

/** How a supervised daemon ended: as DaemonExit says, or before it started (see InstallPhaseEnd). */
export type SupervisedExit = DaemonExit | Extract<InstallPhaseEnd, { kind: 'not-started' }>;

/**
 * The long-lived half of `kata-deploy daemon`. The two phases that need the settings, the Kubernetes
 * client, the payload and the runtime config (install and label; on SIGTERM the teardown decision and the
 * uninstall) are ports, so the CLI runs each in a short-lived child (daemon-phase-child.ts) whose exit
 * frees their memory. The install phase calls `start` once it knows where to serve health, and installs
 * only if `start` resolves true.
 */
export interface DaemonSupervisorPorts {
  readonly installPhase: (start: (setup: DaemonStart) => Promise<boolean>) => Promise<InstallPhaseEnd>;
  readonly teardownPhase: () => Promise<DaemonExit>;
  /** Resolves when the pod is told to stop (SIGTERM). */
  readonly terminated: Promise<unknown>;
  /** Called once /healthz serves, before install starts; for tests and the benchmark. */
  readonly onListening?: (healthPort: number) => void;
  /** Called once the daemon is ready (labelled) with the health port; for tests and the benchmark. */
  readonly onReady?: (healthPort: number) => void;
}

/** Exit status of a daemon run: 0 unless install or uninstall failed (the pod then restarts). */
export function daemonExitCode(exit: SupervisedExit): number {
  if (exit.kind === 'not-started') return exit.exitCode;
  return exit.kind === 'install-failed' || exit.kind === 'uninstall-failed' ? exit.error.exitCode : 0;
}

const stderrLog: SupervisorLog = {
  info: (_fields, message) => process.stderr.write(`kata-deploy: ${message}\n`),
  error: (_fields, message) => process.stderr.write(`kata-deploy: ${message}\n`),
};

/**
 * Serves /healthz from the start (a long install must not fail the liveness probe), runs the install
 * phase, turns /readyz 200 once the node is labelled, idles until SIGTERM, then runs the teardown phase.
 * A SIGTERM during the install lets it finish first, as a SIGTERM before it starts skips it: either way
 * the teardown phase decides. Imports nothing heavier than node:http, so this is all the idle daemon holds.
 */
export async function superviseDaemon(ports: DaemonSupervisorPorts): Promise<SupervisedExit> {
  let terminatedEarly = false;
  void ports.terminated.then(() => (terminatedEarly = true));
  let health: HealthServer | undefined;
  let log = stderrLog;
  const start = async (setup: DaemonStart): Promise<boolean> => {
    log = setup.log;
    health = await startHealthServer(setup.healthPort, setup.healthHost);
    ports.onListening?.(health.port);
    await Promise.resolve();
    if (!terminatedEarly) return true;
    log.info({}, 'terminated before installing: leaving the node as it is');
    return false;
  };
  try {
    const installed = await ports
      .installPhase(start)
      .catch((error: unknown) => ({ kind: 'install-failed', error: asKataDeployError(error) }) as const);
    if (installed.kind === 'not-started') return installed;
    if (installed.kind === 'skipped') return await ports.teardownPhase();
    if (installed.kind === 'install-failed' || health === undefined) {
      const error = installed.kind === 'install-failed' ? installed.error : asKataDeployError('no health server');
      log.error({ code: error.code, hint: error.hint }, `install failed: ${error.message}`);
      return { kind: 'install-failed', error };
    }
    health.setReady(true);
    log.info({ healthPort: health.port }, 'Kata is installed and the node labelled; waiting for termination');
    ports.onReady?.(health.port);
    await ports.terminated;
    health.setReady(false);
    return await ports.teardownPhase();
  } finally {
    await health?.close();
  }
}
