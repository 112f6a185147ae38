import type { Clock } from '../host/clock.js';
import type { Logger } from '../host/logger.js';
import type { KubeAccess } from '../kube/create-kube.js';
import { defaultRestartBudget } from '../kube/restart-slots.js';
import type { RuntimeFlavour, Settings } from '../settings/settings.js';
import type { TransactionContext } from '../transaction/context.js';
import { budgetedControl } from '../wiring/budgeted-control.js';

/** A transaction context whose restarts go through the budget, and how to give the slot back. */
export interface BudgetScope {
  readonly ctx: TransactionContext;
  /** Call once the transaction has returned or thrown: its handlers are live, or it rolled back. */
  release(): Promise<void>;
}

/**
 * Puts a run's restarts under the cluster's restart budget: `--restart-budget`, else the flavour's
 * default; none without API access (bare metal), with a budget of 0, or where we never restart.
 */
export async function underRestartBudget(
  ctx: TransactionContext,
  flavour: RuntimeFlavour,
  access: KubeAccess | undefined,
  settings: Pick<Settings, 'restartBudget' | 'podNamespace'>,
  ports: { readonly clock: Clock; readonly log: Logger; readonly random?: () => number },
): Promise<BudgetScope> {
  const none: BudgetScope = { ctx, release: async () => undefined };
  const budget = settings.restartBudget ?? defaultRestartBudget(flavour);
  if (ctx.control === undefined || !ctx.control.restarts || budget === 0) return none;
  if (access === undefined) {
    const message = 'no API access: restarting without a cluster restart budget';
    if (settings.restartBudget === undefined) ports.log.debug(message);
    else ports.log.warn({ restartBudget: budget }, `${message} (--restart-budget needs a kubeconfig or a pod)`);
    return none;
  }
  // Loaded here only: the Kubernetes client costs ~0.4 s to import (see node-api.ts).
  const { restartBudget } = await import('../kube/restart-budget.js');
  const leases = access.leasesIn(settings.podNamespace ?? access.namespace);
  const slots = restartBudget(leases, access.nodeName, budget, ports);
  return { ctx: { ...ctx, control: budgetedControl(ctx.control, slots) }, release: () => slots.release() };
}
