import type { V1Node, V1Taint } from '@kubernetes/client-node';
import { KataDeployError } from '../core/errors.js';
import type { Logger } from '../host/logger.js';
import { ConflictError, type KubePort } from './kube-port.js';
import type { LabelChanges } from './labels.js';

/** One node write as a decision returns it: labels and/or the whole taint list, or nothing. */
export type NodeWrite =
  | {
      readonly kind: 'write';
      readonly labels?: LabelChanges;
      readonly taints?: readonly V1Taint[];
      readonly reason: string;
    }
  | { readonly kind: 'unchanged'; readonly reason: string };

/** How often a decision is re-read and re-made when other writers keep changing the node. */
export const NODE_WRITE_ATTEMPTS = 8;

/** The merge patch for a write, guarded by the resourceVersion the decision was made from. */
export function mergePatchFor(
  write: Extract<NodeWrite, { kind: 'write' }>,
  resourceVersion: string,
): Record<string, unknown> {
  const body: { metadata: Record<string, unknown>; spec?: Record<string, unknown> } = { metadata: { resourceVersion } };
  if (write.labels !== undefined) body.metadata.labels = write.labels;
  if (write.taints !== undefined) body.spec = { taints: write.taints };
  return body;
}

/** The outcome of a rewrite: the node as last read or written, and whether we wrote. */
export interface RewriteResult {
  readonly node: V1Node;
  readonly wrote: boolean;
  readonly reason: string;
}

/**
 * Read → decide → write with the resourceVersion read, again on 409. The decisions read labels that
 * other installs write at the same time; an unconditional write could, for instance, let two
 * uninstalls each see the other's mark and each keep the shared label, leaving a node advertising Kata
 * with nothing installed. `start` skips the first read when the caller holds a node it just got back
 * from the server (the fleet's request budget counts).
 */
export async function rewriteNode(
  kube: KubePort,
  nodeName: string,
  decide: (node: V1Node) => NodeWrite,
  log: Logger,
  start?: V1Node,
): Promise<RewriteResult> {
  let node = start ?? (await kube.getNode(nodeName));
  for (let attempt = 1; attempt <= NODE_WRITE_ATTEMPTS; attempt += 1) {
    const write = decide(node);
    if (write.kind === 'unchanged') return { node, wrote: false, reason: write.reason };
    const resourceVersion = node.metadata?.resourceVersion;
    if (resourceVersion === undefined) {
      throw new KataDeployError('kube-api', `node ${nodeName} came back without metadata.resourceVersion`, {
        hint: 'the API server answered with an incomplete Node; check any proxy between us and it',
      });
    }
    try {
      const written = await kube.patchNode(nodeName, { type: 'merge', body: mergePatchFor(write, resourceVersion) });
      log.info(
        { node: nodeName, labels: write.labels, taints: write.taints === undefined ? undefined : write.taints.length },
        write.reason,
      );
      return { node: written, wrote: true, reason: write.reason };
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      log.debug({ node: nodeName, attempt }, 'node changed while we decided; reading it again');
      node = await kube.getNode(nodeName);
    }
  }
  throw new KataDeployError(
    'kube-api',
    `gave up writing node ${nodeName} after ${NODE_WRITE_ATTEMPTS} conflicts: something keeps changing it`,
    {
      hint: 'look for another controller rewriting the node labels or taints; the pod restarts and tries again',
    },
  );
}
