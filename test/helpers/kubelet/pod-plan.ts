// The kubelet's translation of a DaemonSet's pod template into what the runtime must set up for one pod on
// one node: argv, env, mounts, capabilities, probes, grace period. Pure, so each rule is table-tested; the
// launcher (pod-script.ts) only carries it out.
import { boundingSet } from './capabilities.ts';
import { assertUnderstood, UnsupportedManifestField } from './known-fields.ts';

// biome-ignore lint/suspicious/noExplicitAny: a parsed manifest, checked field by field by assertUnderstood
type Obj = Record<string, any>;

/** What the image itself declares (its OCI config), and where its root filesystem is on the node. */
export interface ImageConfig {
  readonly root: string;
  readonly entrypoint: readonly string[];
  readonly cmd: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly workingDir?: string;
  /** Node and koffi inside the image, for the stand-in's seccomp loader (test/helpers/seccomp/loader.ts). */
  readonly seccompLoader?: { readonly node: string; readonly koffi: string };
}

/** The pod's identity and cluster, which the API server and kubelet would supply. */
export interface PodContext {
  readonly nodeName: string;
  readonly podName: string;
  readonly podUid: string;
  readonly image: ImageConfig;
  /** The API server as the pod reaches it (KUBERNETES_SERVICE_HOST/PORT). */
  readonly apiHost: string;
  readonly apiPort: number;
}

export type HostPathType = '' | 'DirectoryOrCreate' | 'Directory' | 'FileOrCreate' | 'File' | 'Socket' | 'CharDevice';

/** One mount in the container, in the order the runtime makes them (parents before children). */
export type PodMount =
  | {
      readonly kind: 'hostPath';
      readonly volume: string;
      readonly source: string;
      readonly type: HostPathType;
      readonly target: string;
      readonly readOnly: boolean;
      readonly propagation: 'private' | 'rslave' | 'rshared';
    }
  | { readonly kind: 'emptyDir'; readonly volume: string; readonly memory: boolean; readonly target: string };

/** An httpGet probe with its port resolved and Kubernetes' defaults filled in. */
export interface HttpProbe {
  readonly path: string;
  readonly port: number;
  readonly initialDelaySeconds: number;
  readonly periodSeconds: number;
  readonly timeoutSeconds: number;
  readonly successThreshold: number;
  readonly failureThreshold: number;
}

export interface PodPlan {
  readonly podName: string;
  readonly containerName: string;
  readonly namespace: string;
  readonly argv: readonly string[];
  readonly workingDir: string;
  readonly env: readonly (readonly [string, string])[];
  readonly imageRoot: string;
  readonly readOnlyRoot: boolean;
  readonly privileged: boolean;
  /** `undefined`: every capability (privileged). */
  readonly capabilities: readonly string[] | undefined;
  readonly noNewPrivs: boolean;
  /** The seccomp profile asked for; RuntimeDefault is applied (test/helpers/seccomp/pod-seccomp.ts). */
  readonly seccomp: 'RuntimeDefault' | 'Unconfined' | undefined;
  /** Every volume the pod declares, mounted or not: the kubelet sets each up (and checks its type). */
  readonly volumes: readonly PodMount[];
  readonly serviceAccountName: string;
  readonly memoryLimitBytes: number | undefined;
  readonly readiness: HttpProbe | undefined;
  readonly liveness: HttpProbe | undefined;
  readonly terminationGracePeriodSeconds: number;
}

/** containerd's PATH for an image that sets none (oci.WithDefaultPathEnv). */
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const PROPAGATION = { None: 'private', HostToContainer: 'rslave', Bidirectional: 'rshared' } as const;
const UNITS: Record<string, number> = { '': 1, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, K: 1e3, M: 1e6, G: 1e9 };

function quantityBytes(quantity: string, at: string): number {
  const match = /^(\d+)(Ki|Mi|Gi|K|M|G|)$/.exec(quantity);
  if (match === null) throw new UnsupportedManifestField(at, `memory quantity ${quantity} not understood`);
  return Number(match[1]) * UNITS[match[2]!]!;
}

function fieldRef(path: string, context: PodContext, namespace: string, serviceAccount: string): string {
  const values: Record<string, string> = {
    'spec.nodeName': context.nodeName,
    'spec.serviceAccountName': serviceAccount,
    'metadata.name': context.podName,
    'metadata.namespace': namespace,
    'metadata.uid': context.podUid,
  };
  return values[path]!;
}

function containerEnv(container: Obj, context: PodContext, namespace: string, sa: string): [string, string][] {
  return (container.env ?? []).map((entry: Obj, index: number): [string, string] => {
    const at = `spec.template.spec.containers[0].env[${index}]`;
    if (entry.value !== undefined && entry.valueFrom !== undefined)
      throw new UnsupportedManifestField(at, 'both value and valueFrom');
    const value =
      entry.valueFrom === undefined
        ? (entry.value ?? '')
        : fieldRef(entry.valueFrom.fieldRef.fieldPath, context, namespace, sa);
    if (value.includes('$(')) throw new UnsupportedManifestField(`${at}.value`, '$(VAR) expansion is not implemented');
    return [entry.name, value];
  });
}

function probe(spec: Obj | undefined, ports: Obj[], at: string): HttpProbe | undefined {
  if (spec === undefined) return undefined;
  if (spec.httpGet === undefined) throw new UnsupportedManifestField(at, 'only httpGet probes are implemented');
  const named = ports.find((port) => port.name === spec.httpGet.port);
  const port = typeof spec.httpGet.port === 'number' ? spec.httpGet.port : named?.containerPort;
  if (port === undefined) throw new UnsupportedManifestField(`${at}.httpGet.port`, 'names no container port');
  return {
    path: spec.httpGet.path ?? '/',
    port,
    initialDelaySeconds: spec.initialDelaySeconds ?? 0,
    periodSeconds: spec.periodSeconds ?? 10,
    timeoutSeconds: spec.timeoutSeconds ?? 1,
    successThreshold: spec.successThreshold ?? 1,
    failureThreshold: spec.failureThreshold ?? 3,
  };
}

function volumes(podSpec: Obj, container: Obj): PodMount[] {
  const mounts = (container.volumeMounts ?? []) as Obj[];
  return (podSpec.volumes ?? []).map((volume: Obj, index: number): PodMount => {
    const at = `spec.template.spec.volumes[${index}]`;
    const uses = mounts.filter((mount) => mount.name === volume.name);
    if (uses.length > 1) throw new UnsupportedManifestField(at, `${volume.name} is mounted more than once`);
    const mount = uses[0];
    const target = mount?.mountPath ?? '';
    if (volume.hostPath !== undefined && volume.emptyDir === undefined)
      return {
        kind: 'hostPath',
        volume: volume.name,
        source: volume.hostPath.path,
        type: volume.hostPath.type ?? '',
        target,
        readOnly: mount?.readOnly === true,
        propagation: PROPAGATION[(mount?.mountPropagation ?? 'None') as keyof typeof PROPAGATION],
      };
    if (volume.emptyDir !== undefined && volume.hostPath === undefined) {
      if (mount?.readOnly === true) throw new UnsupportedManifestField(at, 'a read-only emptyDir');
      return { kind: 'emptyDir', volume: volume.name, memory: volume.emptyDir.medium === 'Memory', target };
    }
    throw new UnsupportedManifestField(at, 'a volume needs exactly one of hostPath and emptyDir');
  });
}

function checkMountsHaveVolumes(podSpec: Obj, container: Obj): void {
  const names = new Set(((podSpec.volumes ?? []) as Obj[]).map((volume) => volume.name));
  ((container.volumeMounts ?? []) as Obj[]).forEach((mount, index) => {
    if (!names.has(mount.name))
      throw new UnsupportedManifestField(
        `spec.template.spec.containers[0].volumeMounts[${index}]`,
        `no volume named ${mount.name}`,
      );
  });
}

/** The DaemonSet's pod, as the kubelet on `context.nodeName` would start it. */
export function planPod(daemonSet: Obj, context: PodContext): PodPlan {
  assertUnderstood(daemonSet);
  const podSpec = daemonSet.spec.template.spec as Obj;
  const containers = podSpec.containers as Obj[];
  if (containers.length !== 1)
    throw new UnsupportedManifestField('spec.template.spec.containers', 'exactly one container is implemented');
  const container = containers[0]!;
  checkMountsHaveVolumes(podSpec, container);
  const namespace = daemonSet.metadata.namespace ?? 'default';
  const serviceAccountName = podSpec.serviceAccountName ?? 'default';
  const security = (container.securityContext ?? {}) as Obj;
  const privileged = security.privileged === true;
  if (privileged && security.allowPrivilegeEscalation === false)
    throw new UnsupportedManifestField(
      'spec.template.spec.containers[0].securityContext',
      'privileged with allowPrivilegeEscalation false (the API server rejects it)',
    );
  const image = context.image;
  const argv =
    container.command !== undefined
      ? [...container.command, ...(container.args ?? [])]
      : [...image.entrypoint, ...(container.args ?? image.cmd)];
  const serviceEnv: [string, string][] = [
    ['KUBERNETES_SERVICE_HOST', context.apiHost],
    ['KUBERNETES_SERVICE_PORT', String(context.apiPort)],
    ['KUBERNETES_SERVICE_PORT_HTTPS', String(context.apiPort)],
    ['KUBERNETES_PORT', `tcp://${context.apiHost}:${context.apiPort}`],
  ];
  const ports = (container.ports ?? []) as Obj[];
  const at = 'spec.template.spec.containers[0]';
  const memoryLimit = container.resources?.limits?.memory;
  return {
    podName: context.podName,
    containerName: container.name,
    namespace,
    argv,
    workingDir: container.workingDir ?? image.workingDir ?? '/',
    env: [
      ...new Map([
        ['PATH', DEFAULT_PATH],
        ['HOSTNAME', context.podName],
        ...Object.entries(image.env),
        ...serviceEnv,
        ...containerEnv(container, context, namespace, serviceAccountName),
      ]),
    ],
    imageRoot: image.root,
    readOnlyRoot: security.readOnlyRootFilesystem === true,
    privileged,
    capabilities: boundingSet(privileged, security.capabilities?.add, security.capabilities?.drop),
    noNewPrivs: security.allowPrivilegeEscalation === false,
    seccomp: security.seccompProfile?.type,
    volumes: volumes(podSpec, container),
    serviceAccountName,
    memoryLimitBytes: memoryLimit === undefined ? undefined : quantityBytes(memoryLimit, `${at}.resources`),
    readiness: probe(container.readinessProbe, ports, `${at}.readinessProbe`),
    liveness: probe(container.livenessProbe, ports, `${at}.livenessProbe`),
    terminationGracePeriodSeconds: podSpec.terminationGracePeriodSeconds ?? 30,
  };
}
