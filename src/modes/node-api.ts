import type { Logger } from '../host/logger.js';
import type { KubeAccess } from '../kube/create-kube.js';
import type { NodeTarget } from '../kube/node-labels.js';
import type { Settings } from '../settings/settings.js';

/** The node's label target and the API access it came from (the restart budget needs the namespace). */
export interface NodeApi {
  readonly target: NodeTarget;
  readonly access: KubeAccess;
}

/**
 * The node's API target, or undefined on bare metal without a node name. The Kubernetes client is
 * loaded only here, on demand: importing it costs ~0.4 s, which every bare-metal run and every
 * converged reinstall would otherwise pay for nothing.
 */
export async function nodeApi(settings: Settings, log: Logger): Promise<NodeApi | undefined> {
  if (settings.nodeName === undefined) {
    log.info(
      'no node name (NODE_NAME or --node-name): skipping node labels, events and RuntimeClasses; the node is still ' +
        'installed',
    );
    return undefined;
  }
  const { createKube } = await import('../kube/create-kube.js');
  const { nodeTarget } = await import('../kube/node-labels.js');
  const access = createKube(settings, log);
  if (access === undefined) return undefined;
  return { target: nodeTarget(access.kube, access.nodeName, settings.multiInstallSuffix, log), access };
}

/** nodeApi without the access, for callers that only label. */
export async function nodeApiTarget(settings: Settings, log: Logger): Promise<NodeTarget | undefined> {
  return (await nodeApi(settings, log))?.target;
}
