import { beginInstall, failInstall, finishInstall } from '../kube/node-lifecycle.js';
import { nodeTarget, type NodeTarget } from '../kube/node-labels.js';
import { superviseDaemon, type InstallPhaseResult } from './daemon-supervisor.js';
import { teardownOnTermination } from './daemon-teardown.js';
import type { DaemonDeps, DaemonExit, DaemonInstallOutcome, DaemonPhaseDeps } from './daemon-types.js';
import { asKataDeployError } from '../core/errors.js';

export { daemonExitCode } from './daemon-supervisor.js';

/** The node the daemon labels, or undefined without API access (then nothing is labelled or torn down). */
export function daemonTarget(deps: DaemonPhaseDeps): NodeTarget | undefined {
  return deps.kube === undefined
    ? undefined
    : nodeTarget(deps.kube.kube, deps.kube.nodeName, deps.settings.multiInstallSuffix, deps.log);
}

/**
 * The install phase: claim the node, install (callback), label it ready, lift start-up taints, ensure
 * RuntimeClasses. A failure is returned, with the node marked failed; the supervisor logs it and exits.
 */
export async function installAndLabel(
  deps: DaemonPhaseDeps,
  target: NodeTarget | undefined,
): Promise<InstallPhaseResult> {
  // Claim first: a node the install half-changed must stay findable by the next uninstall.
  const claimed = target === undefined ? undefined : await beginInstall(target);
  let outcome: DaemonInstallOutcome;
  try {
    outcome = await deps.install();
  } catch (thrown) {
    const error = asKataDeployError(thrown);
    if (target !== undefined) await failInstall(target, 'install-failed', error.message, claimed);
    return { kind: 'install-failed', error };
  }
  if (outcome.kind === 'rolled-back') {
    if (target !== undefined)
      await failInstall(target, 'rolled-back', `${outcome.summary}: ${outcome.error.message}`, claimed);
    return { kind: 'install-failed', error: outcome.error };
  }
  deps.log.info({ outcome: outcome.kind }, outcome.summary);
  if (target === undefined) return { kind: 'ready' };
  await finishInstall(target, {
    outcome: outcome.kind,
    summary: outcome.summary,
    claimed,
    startupTaints: deps.settings.startupTaints,
    suffix: deps.settings.multiInstallSuffix,
    runtimeClasses: deps.runtimeClasses === undefined ? [] : await deps.runtimeClasses(),
    clock: deps.clock,
  });
  return { kind: 'ready' };
}

/**
 * `kata-deploy daemon` in one process: the supervisor (health, SIGTERM) with both phases run in place.
 * The CLI runs the phases in children instead (daemon-phase-child.ts); tests and the fleet benchmark use
 * this to drive the same supervisor and phases against a fake API server.
 */
export async function runDaemon(deps: DaemonDeps): Promise<DaemonExit> {
  const target = daemonTarget(deps);
  const exit = await superviseDaemon({
    ...deps,
    installPhase: async (start) => {
      const setup = { healthPort: deps.healthPort, log: deps.log };
      const go = await start(deps.healthHost === undefined ? setup : { ...setup, healthHost: deps.healthHost });
      return go ? installAndLabel(deps, target) : { kind: 'skipped' };
    },
    teardownPhase: () => teardownOnTermination(deps, target),
  });
  if (exit.kind === 'not-started') throw new Error('an install phase run in place always starts');
  return exit;
}
