import { asKataDeployError } from '../core/errors.js';
import { daemonSetVerdict } from '../kube/daemonset-selects.js';
import type { NodeTarget } from '../kube/node-labels.js';
import { beginUninstall, failUninstall, finishUninstall } from '../kube/node-lifecycle.js';
import type { DaemonExit, DaemonPhaseDeps } from './daemon-types.js';

/**
 * SIGTERM: decide between a restart and a teardown from the DaemonSet and the node as the API server
 * has them now. Restart (the DaemonSet exists, is not being deleted, and still selects the node): exit
 * without touching anything, because a new pod follows and every running Kata pod depends on the
 * handlers. Teardown: take the node out of service, uninstall, release the labels.
 */
export async function teardownOnTermination(
  deps: DaemonPhaseDeps,
  target: NodeTarget | undefined,
): Promise<DaemonExit> {
  const { log } = deps;
  if (target === undefined) {
    const reason =
      'no API access, so a restart cannot be told from a teardown: leaving Kata installed (run `kata-deploy ' +
      'uninstall` to remove it)';
    log.info(reason);
    return { kind: 'left-installed', reason };
  }
  let node: Awaited<ReturnType<NodeTarget['kube']['getNode']>>;
  let verdict: ReturnType<typeof daemonSetVerdict>;
  try {
    const { namespace, name } = deps.daemonSet;
    const [readNode, daemonSet] = await Promise.all([
      target.kube.getNode(target.nodeName),
      target.kube.getDaemonSet(namespace, name),
    ]);
    node = readNode;
    verdict = daemonSetVerdict(daemonSet, node);
  } catch (error) {
    // Not knowing is not a reason to uninstall: the safe failure keeps every Kata pod running.
    const reason = `could not read the DaemonSet or node (${asKataDeployError(error).message}): leaving Kata installed`;
    log.warn(reason);
    return { kind: 'left-installed', reason };
  }
  if (verdict.kind === 'selects') {
    const reason =
      `DaemonSet ${deps.daemonSet.namespace}/${deps.daemonSet.name} still selects this node (restart or ` +
      `rolling update): leaving the node as it is`;
    log.info(reason);
    return { kind: 'left-installed', reason };
  }
  const reason =
    verdict.kind === 'not-selected'
      ? `DaemonSet no longer selects this node: ${verdict.reason}`
      : verdict.kind === 'gone'
        ? 'DaemonSet is gone'
        : 'DaemonSet is being deleted';
  log.info(`${reason}: uninstalling Kata from this node`);
  try {
    const demoted = await beginUninstall(target, node);
    await deps.uninstall();
    await finishUninstall(target, reason, demoted);
    return { kind: 'uninstalled', reason };
  } catch (thrown) {
    const error = asKataDeployError(thrown);
    log.error({ code: error.code, hint: error.hint }, `uninstall failed: ${error.message}`);
    await failUninstall(target, error.message, node);
    return { kind: 'uninstall-failed', error };
  }
}
