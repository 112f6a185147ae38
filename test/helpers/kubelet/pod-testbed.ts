// One node of a cluster for the pod scenarios: an nspawn node of a kind with the kata-deploy images on its
// disk (bind-mounted read-only where a kubelet's image store would be), the fake API server with that node
// and the rendered DaemonSet in it, and the kubelet stand-in to run the DaemonSet's pods there.
import type { FakeKubeApi } from '../fake-kube-api.ts';
import { bootNode, type NodeKind, type NspawnNode } from '../nspawn-node.ts';
import { imageContents, imageEnv, imageRoot } from '../testbed-roots.ts';
import { startPod, type StandinPod } from '../kubelet-standin.ts';
import { daemonSetOf, readManifest } from './manifest.ts';
import type { ImageConfig } from './pod-plan.ts';

// biome-ignore lint/suspicious/noExplicitAny: a parsed manifest
type Obj = Record<string, any>;

/** Where the node keeps image `tag`'s root filesystem (read-only). */
const imageDir = (tag: string) => `/var/lib/kubelet-standin/images/${tag.replaceAll(/[^\w.-]/g, '_')}`;

/** The image's OCI config as scripts/image/runtime.list declares it (env, entrypoint), rooted at `root`. */
export function imageConfig(root: string): ImageConfig {
  const value = (kind: string) => imageContents().find((entry) => entry.kind === kind)?.value;
  const entrypoint = value('entrypoint')?.split(' ') ?? [];
  const seccompLoader = { node: value('node') ?? '', koffi: `${value('bundle')}/node_modules/koffi` };
  return { root, entrypoint, cmd: [], env: imageEnv(), seccompLoader };
}

export interface PodTestbed {
  readonly node: NspawnNode;
  readonly api: FakeKubeApi;
  /** The DaemonSet as stored in the fake API (what its pods are made from). */
  daemonSet(): Obj;
  /** `kubectl set image`: the stored DaemonSet's template now names `tag`. */
  setImage(tag: string): void;
  /** `kubectl rollout restart`: the template gets a restartedAt annotation, so its pods are replaced. */
  restartRollout(): void;
  /** `kubectl delete ds`: the DaemonSet is gone from the API. */
  deleteDaemonSet(): void;
  /** The DaemonSet as rendered in daemonset.yaml. */
  manifest(): Obj;
  /** The DaemonSet's pod on this node, from the stored template. */
  startPod(): Promise<StandinPod>;
  /** A pod of another DaemonSet (a variant of the manifest) on this node. */
  startPodOf(daemonSet: Obj): Promise<StandinPod>;
  stop(): Promise<void>;
}

/**
 * Boots `kind` with `images` (image name → the payload it holds) on its disk, and registers the node and the
 * rendered DaemonSet with `api`.
 */
export async function startPodTestbed(
  kind: NodeKind,
  api: FakeKubeApi,
  images: Readonly<Record<string, string>>,
): Promise<PodTestbed> {
  const roots = new Map<string, string>();
  for (const [tag, payload] of Object.entries(images)) roots.set(tag, await imageRoot(payload));
  const binds = [...roots].map(([tag, source]) => ({ source, target: imageDir(tag), readOnly: true }));
  const node = await bootNode({ kind, binds });
  api.addNode(node.name);
  const manifest = daemonSetOf(readManifest());
  const key = `${manifest.metadata.namespace}/${manifest.metadata.name}`;
  const store = (ds: Obj) =>
    api.daemonSets.set(key, { ...ds, metadata: { ...ds.metadata, uid: 'uid-ds', resourceVersion: '1' } });
  if (roots.get(manifest.spec.template.spec.containers[0].image) === undefined)
    throw new Error(`no image given for the manifest's ${manifest.spec.template.spec.containers[0].image}`);
  store(manifest);
  const current = () => {
    const ds = api.daemonSets.get(key);
    if (ds === undefined) throw new Error('the DaemonSet was deleted: a deleted DaemonSet starts no pods');
    return ds;
  };
  const apiUrl = new URL(api.url);
  const startPodOf = (daemonSet: Obj) => {
    const tag = daemonSet.spec.template.spec.containers[0].image as string;
    if (!roots.has(tag)) throw new Error(`image ${tag} is not on node ${node.name} (ErrImageNeverPull)`);
    return startPod({
      daemonSet,
      node: { name: node.name, leaderPid: node.pid },
      image: imageConfig(imageDir(tag)),
      api: { host: apiUrl.hostname, port: Number(apiUrl.port), token: api.bearerToken(), caPem: api.caPem() },
    });
  };
  return {
    node,
    api,
    daemonSet: current,
    setImage(tag) {
      const next = structuredClone(current());
      next.spec.template.spec.containers[0].image = tag;
      store(next);
    },
    restartRollout() {
      const next = structuredClone(current());
      next.spec.template.metadata.annotations = {
        ...next.spec.template.metadata.annotations,
        'kubectl.kubernetes.io/restartedAt': new Date().toISOString(),
      };
      store(next);
    },
    deleteDaemonSet() {
      api.removeDaemonSet(manifest.metadata.namespace, manifest.metadata.name);
    },
    manifest: () => structuredClone(manifest),
    startPod: () => startPodOf(current()),
    startPodOf,
    stop: () => node.stop(),
  };
}
