import { asKataDeployError } from '../core/errors.js';
import { isNoop } from '../core/file-change.js';
import type { Logger } from '../host/logger.js';
import type { Settings } from '../settings/settings.js';
import { install, type InstallResult } from '../transaction/install.js';
import type { TransactionContext } from '../transaction/context.js';
import { wireTransaction, type WiringPorts } from '../wiring/transaction-context.js';
import { nodeApiTarget } from './node-api.js';

/** True when an install changed nothing on the host: no Event, no restart, nothing to announce. */
export function converged(result: InstallResult): boolean {
  return (
    !result.payload.changed &&
    result.changes.every(isNoop) &&
    result.shimLinksWritten.length === 0 &&
    !result.restart.performed &&
    !result.recovered
  );
}

/** True when the runtime was seen serving every handler, the only ground for labelling the node. */
export function provenLive(result: InstallResult): boolean {
  return result.readiness?.ready === true;
}

/** A one-line account of an install for Events and logs. */
export function summarise(result: InstallResult): string {
  if (converged(result)) return `Kata handlers ${result.handlers.join(', ')} already installed and live`;
  return (
    `installed Kata handlers ` +
    `${result.handlers.join(', ')}${result.restart.performed ? ' (runtime restarted)' : ''}`
  );
}

/**
 * `kata-deploy install`: the transaction, framed by the node's labels when the API is reachable —
 * claimed (`false`) before the host changes, `true` only after the handlers are proven live.
 */
export async function runInstall(settings: Settings, ports: WiringPorts, log: Logger): Promise<InstallResult> {
  const { ctx } = await wireTransaction(settings, ports, log, true);
  if (settings.dryRun) return install(ctx);
  const target = await nodeApiTarget(settings, log);
  const lifecycle = target === undefined ? undefined : await import('../kube/node-lifecycle.js');
  const claimed = target === undefined ? undefined : await lifecycle!.beginInstall(target);
  let result: InstallResult;
  try {
    result = await install(ctx);
  } catch (error) {
    const failure = asKataDeployError(error);
    if (target !== undefined)
      await lifecycle!
        .failInstall(
          target,
          failure.code === 'restart-failed' ? 'rolled-back' : 'install-failed',
          failure.message,
          claimed,
        )
        .catch((kubeError) => log.warn({ err: kubeError }, 'could not record the failure on the Node'));
    throw failure;
  }
  if (target !== undefined && !provenLive(result)) {
    log.warn(
      { restart: result.restart.reason },
      'not labelling the node katacontainers.io/kata-runtime=true: the handlers were not proven live (run without ' +
        '--restart none, or label it yourself once they are)',
    );
  } else if (target !== undefined) {
    const { readGuestSizes } = await import('../kube/ensure-runtime-classes.js');
    const { desiredRuntimeClasses } = await import('../kube/runtime-classes.js');
    await lifecycle!.finishInstall(target, {
      outcome: converged(result) ? 'converged' : 'installed',
      summary: summarise(result),
      claimed,
      startupTaints: settings.startupTaints,
      suffix: settings.multiInstallSuffix,
      clock: ports.clock,
      runtimeClasses: desiredRuntimeClasses(settings, await readGuestSizes(ports.fs, settings)),
    });
  }
  return result;
}

/** Builds the context for modes that do not need KVM (uninstall, status). */
export async function wireWithoutKvm(settings: Settings, ports: WiringPorts, log: Logger): Promise<TransactionContext> {
  return (await wireTransaction(settings, ports, log, false)).ctx;
}
