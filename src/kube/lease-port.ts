import { CoordinationV1Api, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import { callApi, type ApiCallSpec, type RetryPolicy } from './api-call.js';
import { SLOT_LABEL } from './restart-slots.js';

/**
 * The coordination.k8s.io/v1 Leases of the restart budget, in one namespace: the four verbs the Role in
 * daemonset.yaml grants. A 409 (AlreadyExists on create, a stale resourceVersion on update or delete)
 * comes back as ConflictError: another node won that slot, the caller reads again.
 */
export interface LeasePort {
  readonly namespace: string;
  listSlots(): Promise<V1Lease[]>;
  create(lease: V1Lease): Promise<V1Lease>;
  /** A PUT carrying `metadata.resourceVersion`: only one of two nodes updating the same version wins. */
  replace(lease: V1Lease): Promise<V1Lease>;
  /** Deletes only the version we wrote; a Lease already gone counts as deleted. */
  remove(name: string, resourceVersion: string): Promise<void>;
}

const SELECTOR = Object.entries(SLOT_LABEL)
  .map(([key, value]) => `${key}=${value}`)
  .join(',');

/** The LeasePort over @kubernetes/client-node, through callApi's retries and RBAC messages. */
export function leasePortFromConfig(config: KubeConfig, policy: RetryPolicy, namespace: string): LeasePort {
  const api = config.makeApiClient(CoordinationV1Api);
  const spec = (verb: ApiCallSpec['verb'], name: string): ApiCallSpec => ({
    verb,
    resource: 'leases.coordination.k8s.io',
    target: `Lease ${namespace}/${name}`,
  });
  const must = async <T>(call: ApiCallSpec, run: () => Promise<T>): Promise<T> =>
    (await callApi(call, policy, run)) as T;
  return {
    namespace,
    listSlots: async () =>
      (await must(spec('list', `(${SELECTOR})`), () => api.listNamespacedLease({ namespace, labelSelector: SELECTOR })))
        .items,
    create: (body) =>
      must(spec('create', body.metadata?.name ?? '?'), () => api.createNamespacedLease({ namespace, body })),
    replace: (body) => {
      const name = body.metadata?.name ?? '?';
      return must(spec('update', name), () => api.replaceNamespacedLease({ namespace, name, body }));
    },
    remove: async (name, resourceVersion) => {
      await callApi(
        spec('delete', name),
        policy,
        () => api.deleteNamespacedLease({ namespace, name, body: { preconditions: { resourceVersion } } }),
        true,
      );
    },
  };
}
