import { KataDeployError } from '../core/errors.js';
import type { NodeReport } from '../detect/detect-node.js';
import type { HostFs } from '../host/host-fs.js';
import { distributionMismatch } from '../settings/k8s-distribution.js';
import type { Settings } from '../settings/settings.js';
import type { UpstreamSettings } from '../settings/upstream-settings.js';

/** `containerd://1.7.28`, `v1.7.28` and `1.7.28` name the same release. */
function bareVersion(version: string): string {
  return version.replace(/^[a-z0-9-]+:\/\//i, '').replace(/^v/, '');
}

/**
 * What upstream's K8S_DISTRIBUTION, CONTAINER_RUNTIME_VERSION, NODE_MACHINE_ID and a snapshotter mapping
 * (containerd ≥ 1.7 only) say about this node,
 * checked against what detection found, before anything is written. Pure: the machine ID comes in read.
 * Each refusal is exit 2 and names the variable and the value that would match.
 */
export function upstreamNodeProblems(
  upstream: UpstreamSettings,
  node: Pick<NodeReport, 'runtime'>,
  machineId: string | undefined,
  snapshotterSource: string | undefined = undefined,
): string[] {
  const problems: string[] = [];
  const { flavour, daemonVersion } = node.runtime;
  if (upstream.containerdConfigDir === undefined) {
    const mismatch = distributionMismatch(upstream.k8sDistribution, flavour);
    if (mismatch !== undefined) problems.push(mismatch);
  }
  const major = /^(\d+)\.(\d+)/.exec(bareVersion(daemonVersion ?? ''));
  if (snapshotterSource !== undefined && flavour !== 'crio' && major?.[1] === '1' && major[2] === '6')
    problems.push(
      `${snapshotterSource}: kata-deploy only supports snapshotter configuration with containerd 1.7 or ` +
        `newer (this node runs ${daemonVersion}); unset it or upgrade containerd`,
    );
  const declared = upstream.containerRuntimeVersion;
  if (declared !== undefined && daemonVersion !== undefined && bareVersion(declared) !== bareVersion(daemonVersion))
    problems.push(
      `CONTAINER_RUNTIME_VERSION=${declared} but this node's ${flavour} is ${daemonVersion}; ` +
        "pass the Node object's status.nodeInfo.containerRuntimeVersion, or unset it",
    );
  const expected = upstream.nodeMachineId;
  if (expected !== undefined && machineId !== expected)
    problems.push(
      `NODE_MACHINE_ID=${expected} but /etc/machine-id is ${machineId ?? 'absent'}: this is not the node the ` +
        'action was staged for',
    );
  return problems;
}

/**
 * What asks for a per-handler snapshotter, if anything: containerd 1.6 has no such key and would silently pull
 * with its default, so a custom runtime's snapshotter is refused there like the mapping upstream refuses.
 */
function snapshotterSource(settings: Pick<Settings, 'upstream' | 'snapshotterHandlerMapping'>): string | undefined {
  if (settings.snapshotterHandlerMapping.size > 0) return 'SNAPSHOTTER_HANDLER_MAPPING';
  const custom = settings.upstream.customRuntimes.find((runtime) => runtime.snapshotter !== undefined);
  return custom === undefined ? undefined : `custom-runtimes.list (${custom.handler})`;
}

/** Reads /etc/machine-id when NODE_MACHINE_ID asks for it, and refuses (exit 2) on any problem above. */
export async function checkUpstreamNodeFacts(
  settings: Pick<Settings, 'upstream' | 'snapshotterHandlerMapping'>,
  node: Pick<NodeReport, 'runtime'>,
  fs: HostFs,
): Promise<void> {
  const { upstream } = settings;
  const machineId =
    upstream.nodeMachineId === undefined ? undefined : (await fs.readIfExists('/etc/machine-id'))?.toString().trim();
  const problems = upstreamNodeProblems(upstream, node, machineId, snapshotterSource(settings));
  if (problems.length > 0)
    throw new KataDeployError('usage', problems.join('; '), {
      hint: 'fix the named variable (the chart sets it from its values); nothing was changed',
    });
}
