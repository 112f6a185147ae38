import { existsSync, readFileSync } from 'node:fs';
import {
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  NodeV1Api,
  PatchStrategy,
  setHeaderOptions,
  type CoreV1Event,
  type V1RuntimeClass,
} from '@kubernetes/client-node';
import { KataDeployError } from '../core/errors.js';
import { systemClock, type Clock } from '../host/clock.js';
import type { Logger } from '../host/logger.js';
import type { Settings } from '../settings/settings.js';
import { callApi, type ApiCallSpec, type RetryPolicy } from './api-call.js';
import type { KubePort, NodeEventInput } from './kube-port.js';
import { leasePortFromConfig, type LeasePort } from './lease-port.js';

/** Where a pod finds its ServiceAccount (a container path, not a host path). */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The API access of one run: the port, the node it is about, and the namespace it runs in. */
export interface KubeAccess {
  readonly kube: KubePort;
  readonly nodeName: string;
  /** The pod's namespace in a cluster, the kubeconfig context's namespace (or `default`) outside. */
  readonly namespace: string;
  /** The restart budget's Leases in a namespace (the pod's, or the one --namespace names). */
  leasesIn(namespace: string): LeasePort;
}

/** Test and benchmark seams; production uses the defaults. */
export interface CreateKubeOptions {
  readonly clock?: Clock;
  readonly random?: () => number;
  /** Per call, retries included (default 60 s). */
  readonly deadlineMs?: number;
  readonly serviceAccountDir?: string;
}

/**
 * Connects to the API server the way the run found it: the kubeconfig from --kubeconfig/KUBECONFIG
 * when given, else the pod's ServiceAccount. Returns undefined, with one log line saying why, when there
 * is neither or no node name: on bare metal the node is still installed, only the API work is skipped.
 * An unreadable kubeconfig is an error (exit 7): the operator asked for API work and would not get it.
 */
export function createKube(
  settings: Pick<Settings, 'kubeconfig' | 'nodeName'>,
  log: Logger,
  options: CreateKubeOptions = {},
): KubeAccess | undefined {
  const saDir = options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  const inCluster = existsSync(`${saDir}/token`);
  if (settings.nodeName === undefined) {
    log.info(
      'no node name (NODE_NAME or --node-name): skipping node labels, events and RuntimeClasses; the node is still ' +
        'installed',
    );
    return undefined;
  }
  if (settings.kubeconfig === undefined && !inCluster) {
    log.info(
      'no kubeconfig (KUBECONFIG or --kubeconfig) and not in a pod: skipping node labels, events and RuntimeClasses; ' +
        'the node is still installed',
    );
    return undefined;
  }
  const config = new KubeConfig();
  let namespace = 'default';
  const source = settings.kubeconfig ?? `the ServiceAccount in ${saDir}`;
  try {
    if (settings.kubeconfig !== undefined) {
      config.loadFromFile(settings.kubeconfig);
      namespace = config.getContextObject(config.getCurrentContext())?.namespace ?? 'default';
    } else {
      config.loadFromCluster(saDir === SERVICE_ACCOUNT_DIR ? '' : saDir.slice(0, -SERVICE_ACCOUNT_DIR.length));
      namespace = readFileSync(`${saDir}/namespace`, 'utf8').trim() || 'default';
    }
    if (config.getCurrentCluster() === null) throw new Error('no current cluster (check current-context)');
  } catch (error) {
    throw new KataDeployError('kube-api', `cannot load API access from ${source}: ${(error as Error).message}`, {
      hint:
        settings.kubeconfig === undefined
          ? 'the pod needs its ServiceAccount token mounted (automountServiceAccountToken)'
          : 'point --kubeconfig/KUBECONFIG at a valid kubeconfig, or unset it to skip the API work',
      cause: error,
    });
  }
  const policy: RetryPolicy = {
    clock: options.clock ?? systemClock,
    log,
    deadlineMs: options.deadlineMs ?? 60_000,
    baseDelayMs: 200,
    maxDelayMs: 5_000,
    random: options.random ?? Math.random,
  };
  return {
    kube: kubePortFromConfig(config, policy),
    nodeName: settings.nodeName,
    namespace,
    leasesIn: (leaseNamespace) => leasePortFromConfig(config, policy, leaseNamespace),
  };
}

async function must<T>(spec: ApiCallSpec, policy: RetryPolicy, call: () => Promise<T>): Promise<T> {
  return (await callApi(spec, policy, call)) as T;
}

/** Node events land in `default`, where the kubelet puts its own and `kubectl describe node` finds them. */
const EVENT_NAMESPACE = 'default';

function nodeEvent(event: NodeEventInput, now: Date): CoreV1Event {
  return {
    metadata: { name: `${event.nodeName}.kata-deploy.${now.getTime().toString(16)}`, namespace: EVENT_NAMESPACE },
    involvedObject: {
      apiVersion: 'v1',
      kind: 'Node',
      name: event.nodeName,
      ...(event.nodeUid === undefined ? {} : { uid: event.nodeUid }),
    },
    reason: event.reason,
    message: event.message,
    type: event.type,
    source: { component: 'kata-deploy', host: event.nodeName },
    reportingComponent: 'kata-deploy',
    reportingInstance: event.nodeName,
    firstTimestamp: now,
    lastTimestamp: now,
    count: 1,
  };
}

/** The KubePort over @kubernetes/client-node; every call goes through callApi's retry and RBAC mapping. */
export function kubePortFromConfig(config: KubeConfig, policy: RetryPolicy): KubePort {
  const core = config.makeApiClient(CoreV1Api);
  const apps = config.makeApiClient(AppsV1Api);
  const node = config.makeApiClient(NodeV1Api);
  const rc = (verb: ApiCallSpec['verb'], name: string): ApiCallSpec => ({
    verb,
    resource: 'runtimeclasses.node.k8s.io',
    target: `RuntimeClass ${name}`,
  });
  return {
    getNode: (name) =>
      must({ verb: 'get', resource: 'nodes', target: `node ${name}` }, policy, () => core.readNode({ name })),
    patchNode: (name, patch) => {
      const [contentType, body] =
        patch.type === 'merge' ? [PatchStrategy.MergePatch, patch.body] : [PatchStrategy.JsonPatch, patch.ops];
      return must({ verb: 'patch', resource: 'nodes', target: `node ${name}` }, policy, () =>
        core.patchNode({ name, body }, setHeaderOptions('Content-Type', contentType)),
      );
    },
    createNodeEvent: async (event) => {
      const body = nodeEvent(event, new Date(policy.clock.now()));
      await must(
        { verb: 'create', resource: 'events', target: `event ${event.reason} on node ${event.nodeName}` },
        policy,
        () => core.createNamespacedEvent({ namespace: EVENT_NAMESPACE, body }),
      );
    },
    getDaemonSet: (namespace, name) =>
      callApi(
        { verb: 'get', resource: 'daemonsets.apps', target: `DaemonSet ${namespace}/${name}` },
        policy,
        () => apps.readNamespacedDaemonSet({ namespace, name }),
        true,
      ),
    getRuntimeClass: (name) => callApi(rc('get', name), policy, () => node.readRuntimeClass({ name }), true),
    createRuntimeClass: (body: V1RuntimeClass) =>
      must(rc('create', body.metadata?.name ?? '?'), policy, () => node.createRuntimeClass({ body })),
    replaceRuntimeClass: (body: V1RuntimeClass) => {
      const name = body.metadata?.name ?? '?';
      return must(rc('update', name), policy, () => node.replaceRuntimeClass({ name, body }));
    },
    listRuntimeClasses: async (labelSelector) =>
      (await must(rc('list', `(${labelSelector})`), policy, () => node.listRuntimeClass({ labelSelector }))).items,
  };
}
