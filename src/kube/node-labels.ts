import type { V1Node } from '@kubernetes/client-node';
import type { Logger } from '../host/logger.js';
import type { KubePort } from './kube-port.js';
import {
  decideClaim,
  decideDemote,
  decideReady,
  decideRelease,
  markLabel,
  type LabelDecision,
  type Labels,
} from './labels.js';
import { rewriteNode, type NodeWrite, type RewriteResult } from './node-writer.js';
import { decideTaints } from './taints.js';

/** The node one install works on, and its mark. */
export interface NodeTarget {
  readonly kube: KubePort;
  readonly nodeName: string;
  /** `kata-deploy.katacontainers.io/<suffix or default>`. */
  readonly mark: string;
  readonly log: Logger;
}

/** The target for an install with this MULTI_INSTALL_SUFFIX. */
export function nodeTarget(kube: KubePort, nodeName: string, suffix: string | undefined, log: Logger): NodeTarget {
  return { kube, nodeName, mark: markLabel(suffix), log };
}

function labelsOf(node: V1Node): Labels {
  return node.metadata?.labels ?? {};
}

function asWrite(decision: LabelDecision): NodeWrite {
  return decision.kind === 'write' ? { kind: 'write', labels: decision.changes, reason: decision.reason } : decision;
}

/** Before the install touches the host: both labels `false` where absent (see decideClaim). */
export function claimNode(target: NodeTarget): Promise<RewriteResult> {
  return rewriteNode(
    target.kube,
    target.nodeName,
    (node) => asWrite(decideClaim(labelsOf(node), target.mark)),
    target.log,
  );
}

/**
 * After readiness: both labels `true`. `start` may be the node the claim returned: the write is still
 * guarded by its resourceVersion, so a node that changed meanwhile costs one re-read, and an unchanged
 * one saves a request per node.
 */
export function labelReady(target: NodeTarget, start?: V1Node): Promise<RewriteResult> {
  return rewriteNode(
    target.kube,
    target.nodeName,
    (node) => asWrite(decideReady(labelsOf(node), target.mark)),
    target.log,
    start,
  );
}

/** Before an uninstall: stop admitting pods on our account (see decideDemote). */
export function demoteNode(target: NodeTarget, start?: V1Node): Promise<RewriteResult> {
  return rewriteNode(
    target.kube,
    target.nodeName,
    (node) => asWrite(decideDemote(labelsOf(node), target.mark)),
    target.log,
    start,
  );
}

/** After an uninstall: our mark goes; the shared label is kept, demoted or removed (see decideRelease). */
export function releaseNode(target: NodeTarget): Promise<RewriteResult> {
  return rewriteNode(
    target.kube,
    target.nodeName,
    (node) => asWrite(decideRelease(labelsOf(node), target.mark)),
    target.log,
  );
}

/**
 * Lifts STARTUP_TAINTS once the node is labelled, starting from the node the label write returned
 * (no extra read). Best effort on purpose: a taint left behind only keeps pods away, the safe
 * direction, so a failure warns instead of failing a finished install.
 */
export async function liftStartupTaints(
  target: NodeTarget,
  matchers: readonly string[],
  labelled: V1Node | undefined,
): Promise<readonly string[]> {
  if (matchers.length === 0) return [];
  let removed: readonly string[] = [];
  try {
    await rewriteNode(
      target.kube,
      target.nodeName,
      (node) => {
        const decision = decideTaints(node.spec?.taints ?? [], matchers);
        removed = decision.kind === 'write' ? decision.removed : [];
        return decision.kind === 'write'
          ? {
              kind: 'write',
              taints: decision.retained,
              reason: `remove start-up taints ${decision.removed.join(', ')}`,
            }
          : { kind: 'unchanged', reason: 'no start-up taint to remove' };
      },
      target.log,
      labelled,
    );
  } catch (error) {
    target.log.warn(
      { err: error, taints: matchers },
      'could not remove the start-up taints; Kata is installed and labelled, pods stay off the node until they go',
    );
    return [];
  }
  return removed;
}
