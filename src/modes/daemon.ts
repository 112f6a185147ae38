import { asKataDeployError } from '../core/errors.js';
import { beginInstall, failInstall, finishInstall } from '../kube/node-lifecycle.js';
import { nodeTarget, type NodeTarget } from '../kube/node-labels.js';
import { startHealthServer, type HealthServer } from './daemon-health.js';
import { teardownOnTermination } from './daemon-teardown.js';
import type { DaemonDeps, DaemonExit, DaemonInstallOutcome } from './daemon-types.js';

/** Exit status of a daemon run: 0 unless install or uninstall failed (the pod then restarts). */
export function daemonExitCode(exit: DaemonExit): number {
  return exit.kind === 'install-failed' || exit.kind === 'uninstall-failed' ? exit.error.exitCode : 0;
}

async function installAndLabel(
  deps: DaemonDeps,
  target: NodeTarget | undefined,
): Promise<Extract<DaemonExit, { kind: 'install-failed' }> | undefined> {
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
  if (target === undefined) return undefined;
  await finishInstall(target, {
    outcome: outcome.kind,
    summary: outcome.summary,
    claimed,
    startupTaints: deps.settings.startupTaints,
    suffix: deps.settings.multiInstallSuffix,
    runtimeClasses: deps.runtimeClasses === undefined ? [] : await deps.runtimeClasses(),
    clock: deps.clock,
  });
  return undefined;
}

/**
 * `kata-deploy daemon`, the DaemonSet entrypoint: claim the node, install (callback), label it ready,
 * lift start-up taints, ensure RuntimeClasses, then idle serving /healthz and /readyz until SIGTERM.
 * On SIGTERM it uninstalls only if our DaemonSet is gone or no longer selects the node; a rolling
 * update or pod restart leaves the node untouched. Health is served from the start so the liveness
 * probe does not kill a long install; readiness waits for the label.
 */
export async function runDaemon(deps: DaemonDeps): Promise<DaemonExit> {
  const { log } = deps;
  const health: HealthServer = await startHealthServer(deps.healthPort, deps.healthHost);
  deps.onListening?.(health.port);
  const target =
    deps.kube === undefined
      ? undefined
      : nodeTarget(deps.kube.kube, deps.kube.nodeName, deps.settings.multiInstallSuffix, log);
  let terminatedEarly = false;
  void deps.terminated.then(() => (terminatedEarly = true));
  try {
    await Promise.resolve();
    if (terminatedEarly) {
      log.info('terminated before installing: leaving the node as it is');
      return await teardownOnTermination(deps, target);
    }
    const failed = await installAndLabel(deps, target).catch(
      (error: unknown) => ({ kind: 'install-failed', error: asKataDeployError(error) }) as const,
    );
    if (failed !== undefined) {
      log.error({ code: failed.error.code, hint: failed.error.hint }, `install failed: ${failed.error.message}`);
      return failed;
    }
    health.setReady(true);
    log.info({ healthPort: health.port }, 'Kata is installed and the node labelled; waiting for termination');
    deps.onReady?.(health.port);
    await deps.terminated;
    health.setReady(false);
    return await teardownOnTermination(deps, target);
  } finally {
    await health.close();
  }
}
