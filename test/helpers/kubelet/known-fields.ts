// Every DaemonSet field the kubelet stand-in knows what to do with, and the values it can honour. A field
// outside this tree stops the pod before it starts: a stand-in that skipped one would prove less than it
// claims (a seccomp profile, a pod securityContext, an exec probe would all pass unnoticed otherwise).

/** A leaf the stand-in reads: a type, or the exact values it implements. */
type Leaf =
  | 'string'
  | 'number'
  | 'boolean'
  | 'port'
  | 'string-map'
  | 'string-list'
  | readonly (string | number | boolean)[];
/** An object's known keys; a one-element array means "a list of these". */
export type Shape = Leaf | { readonly [key: string]: Shape } | readonly [Shape];

const PROBE: Shape = {
  httpGet: { path: 'string', port: 'port', scheme: ['HTTP'] },
  initialDelaySeconds: 'number',
  periodSeconds: 'number',
  timeoutSeconds: 'number',
  successThreshold: 'number',
  failureThreshold: 'number',
};

const RESOURCES: Shape = {
  limits: { memory: 'string', cpu: 'string' },
  requests: { memory: 'string', cpu: 'string' },
};

const CONTAINER: Shape = {
  name: 'string',
  image: 'string',
  imagePullPolicy: ['IfNotPresent', 'Never'],
  command: 'string-list',
  args: 'string-list',
  workingDir: 'string',
  env: [
    {
      name: 'string',
      value: 'string',
      valueFrom: {
        fieldRef: {
          apiVersion: ['v1'],
          fieldPath: [
            'spec.nodeName',
            'spec.serviceAccountName',
            'metadata.name',
            'metadata.namespace',
            'metadata.uid',
          ],
        },
      },
    },
  ],
  ports: [{ name: 'string', containerPort: 'number', protocol: ['TCP'] }],
  readinessProbe: PROBE,
  livenessProbe: PROBE,
  resources: RESOURCES,
  securityContext: {
    privileged: 'boolean',
    allowPrivilegeEscalation: 'boolean',
    readOnlyRootFilesystem: 'boolean',
    runAsUser: [0],
    runAsNonRoot: [false],
    capabilities: { add: 'string-list', drop: 'string-list' },
    seccompProfile: { type: ['RuntimeDefault', 'Unconfined'] },
  },
  volumeMounts: [
    {
      name: 'string',
      mountPath: 'string',
      readOnly: 'boolean',
      mountPropagation: ['None', 'HostToContainer', 'Bidirectional'],
    },
  ],
};

const VOLUME: Shape = {
  name: 'string',
  hostPath: {
    path: 'string',
    type: ['', 'DirectoryOrCreate', 'Directory', 'FileOrCreate', 'File', 'Socket', 'CharDevice'],
  },
  emptyDir: { medium: ['', 'Memory'], sizeLimit: 'string' },
};

const META: Shape = {
  name: 'string',
  namespace: 'string',
  labels: 'string-map',
  annotations: 'string-map',
  // Set by the API server on what it stores; they name the object, they change nothing in its pods.
  uid: 'string',
  resourceVersion: 'string',
  generation: 'number',
  creationTimestamp: 'string',
};

/**
 * The DaemonSet as far as the stand-in understands it. Scheduling fields (tolerations, priorityClassName,
 * updateStrategy, selector) are accepted because they decide *whether and when* a pod runs on a node, which
 * the scenario decides; nothing in them changes how the kubelet starts the container.
 */
export const DAEMONSET_SHAPE: Shape = {
  apiVersion: ['apps/v1'],
  kind: ['DaemonSet'],
  metadata: META,
  spec: {
    selector: { matchLabels: 'string-map' },
    updateStrategy: { type: ['RollingUpdate'], rollingUpdate: { maxUnavailable: 'number' } },
    template: {
      metadata: META,
      spec: {
        containers: [CONTAINER],
        volumes: [VOLUME],
        serviceAccountName: 'string',
        terminationGracePeriodSeconds: 'number',
        hostPID: [false],
        hostIPC: [false],
        hostNetwork: [false],
        priorityClassName: 'string',
        nodeSelector: 'string-map',
        tolerations: [{ key: 'string', operator: ['Exists', 'Equal'], value: 'string', effect: 'string' }],
      },
    },
  },
};

/** A field of the manifest the stand-in cannot honour; `path` is where it is, in kubectl's notation. */
export class UnsupportedManifestField extends Error {
  readonly path: string;

  constructor(path: string, reason: string) {
    super(`kubelet stand-in: ${path}: ${reason}; teach test/helpers/kubelet what it means before using it`);
    this.name = 'UnsupportedManifestField';
    this.path = path;
  }
}

function describe(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

function checkLeaf(leaf: Leaf, value: unknown, at: string): void {
  if (Array.isArray(leaf)) {
    if (!leaf.includes(value as never))
      throw new UnsupportedManifestField(at, `value ${describe(value)} is not one of ${describe(leaf)}`);
    return;
  }
  const ok =
    leaf === 'string-map'
      ? typeof value === 'object' && value !== null && Object.values(value).every((v) => typeof v === 'string')
      : leaf === 'string-list'
        ? Array.isArray(value) && value.every((v) => typeof v === 'string')
        : leaf === 'port'
          ? typeof value === 'string' || typeof value === 'number'
          : typeof value === leaf;
  if (!ok) throw new UnsupportedManifestField(at, `expected ${leaf}, found ${describe(value)}`);
}

/** Throws UnsupportedManifestField at the first field (or value) outside `shape`. */
export function assertUnderstood(value: unknown, shape: Shape = DAEMONSET_SHAPE, at = ''): void {
  if (typeof shape === 'string' || (Array.isArray(shape) && typeof shape[0] !== 'object')) {
    checkLeaf(shape as Leaf, value, at);
    return;
  }
  if (Array.isArray(shape)) {
    if (!Array.isArray(value)) throw new UnsupportedManifestField(at, `expected a list, found ${describe(value)}`);
    for (const [index, item] of value.entries()) assertUnderstood(item, shape[0] as Shape, `${at}[${index}]`);
    return;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new UnsupportedManifestField(at, `expected an object, found ${describe(value)}`);
  const known = shape as { readonly [key: string]: Shape };
  for (const [key, child] of Object.entries(value)) {
    const where = at === '' ? key : `${at}.${key}`;
    const childShape = known[key];
    if (childShape === undefined) throw new UnsupportedManifestField(where, 'field not understood');
    assertUnderstood(child, childShape, where);
  }
}
