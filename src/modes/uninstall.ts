import { asKataDeployError } from '../core/errors.js';
import type { Logger } from '../host/logger.js';
import type { Settings } from '../settings/settings.js';
import { uninstall, type UninstallResult } from '../transaction/uninstall.js';
import { wireTransaction, type WiringPorts } from '../wiring/transaction-context.js';
import { nodeApi } from './node-api.js';
import { underRestartBudget } from './restart-budget-scope.js';

/**
 * `kata-deploy uninstall`: demote the node's label first (no new Kata pods land here), undo the
 * install exactly, then release our mark (and the shared label if ours was the last install).
 */
export async function runUninstall(settings: Settings, ports: WiringPorts, log: Logger): Promise<UninstallResult> {
  const wired = await wireTransaction(settings, ports, log, false);
  const api = await nodeApi(settings, log);
  const target = api?.target;
  const scope = await underRestartBudget(wired.ctx, wired.node.runtime.flavour, api?.access, settings, {
    clock: ports.clock,
    log,
  });
  const lifecycle = target === undefined ? undefined : await import('../kube/node-lifecycle.js');
  const demoted = target === undefined ? undefined : await lifecycle!.beginUninstall(target);
  try {
    const result = await uninstall(scope.ctx).finally(() => scope.release());
    if (target !== undefined)
      await lifecycle!.finishUninstall(
        target,
        result.nothingInstalled ? 'nothing was installed' : 'Kata removed from the node',
        demoted,
      );
    return result;
  } catch (error) {
    const failure = asKataDeployError(error);
    if (target !== undefined)
      await lifecycle!
        .failUninstall(target, failure.message, demoted)
        .catch((kubeError) => log.warn({ err: kubeError }, 'could not record the failure on the Node'));
    throw failure;
  }
}
