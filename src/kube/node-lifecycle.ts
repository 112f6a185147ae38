import type { V1Node, V1RuntimeClass } from '@kubernetes/client-node';
import type { Clock } from '../host/clock.js';
import { ensureRuntimeClasses } from './ensure-runtime-classes.js';
import { recordNodeEvent } from './events.js';
import { claimNode, demoteNode, labelReady, liftStartupTaints, releaseNode, type NodeTarget } from './node-labels.js';

/**
 * The Kubernetes half of an install or uninstall, in the order that keeps a node safe, for every
 * mode that changes a node (`daemon`, and the one-shot `install`/`uninstall` on bare metal with a
 * kubeconfig). The host half (the transaction) runs between the begin and finish steps.
 */

/** Claim the node before the transaction touches the host; returns the node as written. */
export async function beginInstall(target: NodeTarget): Promise<V1Node> {
  return (await claimNode(target)).node;
}

/** What finishInstall needs to know about the install that just succeeded. */
export interface FinishInstall {
  readonly outcome: 'installed' | 'converged';
  readonly summary: string;
  /** The node beginInstall returned: saves a read when nothing changed it since. */
  readonly claimed: V1Node | undefined;
  readonly startupTaints: readonly string[];
  readonly suffix: string | undefined;
  /** RuntimeClasses to ensure (empty when not asked for). */
  readonly runtimeClasses: readonly V1RuntimeClass[];
  readonly clock: Clock;
}

/**
 * After readiness proved the handlers live: label `true`, lift start-up taints (only now: they are
 * what kept pods off the node until the label was in place), ensure RuntimeClasses, and record an
 * Event when something was actually installed (a converged restart stays silent).
 */
export async function finishInstall(target: NodeTarget, step: FinishInstall): Promise<void> {
  const labelled = await labelReady(target, step.claimed);
  await liftStartupTaints(target, step.startupTaints, labelled.node);
  if (step.runtimeClasses.length > 0)
    await ensureRuntimeClasses(target.kube, step.runtimeClasses, step.suffix, target.log, step.clock);
  if (step.outcome === 'installed') await recordNodeEvent(target, 'installed', step.summary, labelled.node);
}

/**
 * A failed or rolled-back install: the claim (`false`) stays so the next uninstall can find the node,
 * and a Warning Event says why.
 */
export async function failInstall(
  target: NodeTarget,
  kind: 'install-failed' | 'rolled-back',
  message: string,
  node: V1Node | undefined,
): Promise<void> {
  await recordNodeEvent(target, kind, message, node);
}

/** Before the transaction's uninstall: stop admitting pods on our account, keep the keys. */
export async function beginUninstall(target: NodeTarget, node?: V1Node): Promise<V1Node> {
  return (await demoteNode(target, node)).node;
}

/** After a successful uninstall: release our mark (and the shared label if ours was the last). */
export async function finishUninstall(target: NodeTarget, reason: string, node: V1Node | undefined): Promise<void> {
  await releaseNode(target);
  await recordNodeEvent(target, 'uninstalled', reason, node);
}

/** A failed uninstall: labels stay demoted (findable, not schedulable), a Warning Event says why. */
export async function failUninstall(target: NodeTarget, message: string, node: V1Node | undefined): Promise<void> {
  await recordNodeEvent(target, 'uninstall-failed', message, node);
}
