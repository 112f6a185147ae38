import type { V1Node } from '@kubernetes/client-node';
import type { NodeTarget } from './node-labels.js';

/** What happened on the node, as an Event reason an operator can filter on. */
export type NodeEventKind = 'installed' | 'install-failed' | 'rolled-back' | 'uninstalled' | 'uninstall-failed';

const EVENTS: Readonly<Record<NodeEventKind, { type: 'Normal' | 'Warning'; reason: string }>> = {
  installed: { type: 'Normal', reason: 'KataInstalled' },
  'install-failed': { type: 'Warning', reason: 'KataInstallFailed' },
  'rolled-back': { type: 'Warning', reason: 'KataInstallRolledBack' },
  uninstalled: { type: 'Normal', reason: 'KataUninstalled' },
  'uninstall-failed': { type: 'Warning', reason: 'KataUninstallFailed' },
};

/**
 * Posts an Event on the Node so `kubectl describe node` tells what kata-deploy did. Best effort: an
 * Event is a courtesy, and losing one must never fail an install that worked.
 */
export async function recordNodeEvent(
  target: NodeTarget,
  kind: NodeEventKind,
  message: string,
  node?: V1Node,
): Promise<void> {
  try {
    await target.kube.createNodeEvent({
      nodeName: target.nodeName,
      nodeUid: node?.metadata?.uid,
      ...EVENTS[kind],
      message,
    });
  } catch (error) {
    target.log.warn({ err: error, event: EVENTS[kind].reason }, 'could not record the node event');
  }
}
