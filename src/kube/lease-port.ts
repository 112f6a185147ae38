import { CoordinationV1Api, type KubeConfig, type V1Lease, Watch } from '@kubernetes/client-node';
import { callApi, type ApiCallSpec, type RetryPolicy } from './api-call.js';
import { ConflictError } from './kube-port.js';
import { SLOT_LABEL } from './restart-slots.js';

/** The slots as one LIST saw them, and the resourceVersion to watch from. */
export interface SlotList {
  readonly items: V1Lease[];
  readonly resourceVersion: string;
}

/** A change seen by a watch; BOOKMARK only moves the resourceVersion on. */
export type SlotWatchEvent =
  | { readonly type: 'ADDED' | 'MODIFIED' | 'DELETED'; readonly lease: V1Lease }
  | { readonly type: 'BOOKMARK'; readonly resourceVersion: string };

/** Why a watch stream ended: the server closed it (watch again), 410 Gone (list again), or it broke. */
export type SlotWatchEnd =
  | { readonly kind: 'closed' }
  | { readonly kind: 'gone' }
  | { readonly kind: 'failed'; readonly error: unknown };

/** An open watch on the slots. */
export interface SlotWatch {
  readonly ended: Promise<SlotWatchEnd>;
  stop(): void;
}

/**
 * The coordination.k8s.io/v1 Leases of the restart budget, in one namespace: the five verbs the Role in
 * daemonset.yaml grants. A 409 (AlreadyExists on create, a stale resourceVersion on update or delete)
 * comes back as ConflictError: another node won that slot, the caller reads again.
 */
export interface LeasePort {
  readonly namespace: string;
  /** All the slots, or only the one named (`fieldSelector=metadata.name=…`). */
  listSlots(name?: string): Promise<SlotList>;
  /**
   * One long GET (`?watch=true&resourceVersion=…`): every change to the slots after that version, or
   * to the one named only.
   */
  watchSlots(resourceVersion: string, onEvent: (event: SlotWatchEvent) => void, name?: string): SlotWatch;
  create(lease: V1Lease): Promise<V1Lease>;
  /**
   * A PUT carrying `metadata.resourceVersion`: only one of two nodes updating the same version wins. A
   * Lease deleted since it was read is a ConflictError too (some servers answer 404, not create).
   */
  replace(lease: V1Lease): Promise<V1Lease>;
  /** Deletes only the version we wrote; a Lease already gone counts as deleted. */
  remove(name: string, resourceVersion: string): Promise<void>;
}

const SELECTOR = Object.entries(SLOT_LABEL)
  .map(([key, value]) => `${key}=${value}`)
  .join(',');

/**
 * The server ends a watch after this long (a BOOKMARK first), and we watch again from the version it
 * reached: shorter than kube-apiserver's own 30–60 min, so a proxy's idle cut-off is seldom the end.
 */
export const WATCH_TIMEOUT_S = 300;

/** Reads one watch stream's lines into events, and how it ended. */
function watchOver(
  config: KubeConfig,
  path: string,
  resourceVersion: string,
  onEvent: (event: SlotWatchEvent) => void,
  name: string | undefined,
): SlotWatch {
  const watch = new Watch(config);
  // client-node aborts a stream silent for this long (30 s unless set; TypeScript-private, a plain field
  // at run time); the server's own timeout must come first.
  (watch as unknown as { requestTimeoutMs: number }).requestTimeoutMs = (WATCH_TIMEOUT_S + 30) * 1000;
  let settle: (end: SlotWatchEnd) => void = () => {};
  const ended = new Promise<SlotWatchEnd>((resolve) => {
    settle = resolve;
  });
  let stopped = false;
  let end: SlotWatchEnd | undefined;
  const finish = (outcome: SlotWatchEnd) => {
    end ??= outcome;
    settle(end);
  };
  // biome-ignore lint/suspicious/noExplicitAny: a watch event's object, a Lease or a Status
  const onLine = (type: string, object: any) => {
    if (end !== undefined || stopped) return;
    if (type === 'ERROR') {
      const gone = object?.code === 410;
      finish(gone ? { kind: 'gone' } : { kind: 'failed', error: new Error(object?.message ?? 'watch ERROR event') });
      void controller.then((abort) => abort?.abort());
      return;
    }
    if (type === 'BOOKMARK') onEvent({ type, resourceVersion: object?.metadata?.resourceVersion ?? resourceVersion });
    else if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') onEvent({ type, lease: object as V1Lease });
  };
  const onDone = (error: unknown) => {
    if (stopped || error === null || error === undefined) return finish({ kind: 'closed' });
    const status = (error as { statusCode?: unknown }).statusCode;
    finish(status === 410 ? { kind: 'gone' } : { kind: 'failed', error });
  };
  const query = {
    resourceVersion,
    labelSelector: SELECTOR,
    allowWatchBookmarks: true,
    timeoutSeconds: WATCH_TIMEOUT_S,
    ...fieldSelectorFor(name),
  };
  const controller = watch.watch(path, query, onLine, onDone).catch((error: unknown) => {
    onDone(error);
    return undefined;
  });
  return {
    ended,
    stop: () => {
      stopped = true;
      finish({ kind: 'closed' });
      void controller.then((abort) => abort?.abort());
    },
  };
}

/** Narrows a LIST or WATCH to one Lease by name; kube-apiserver supports `metadata.name` for every kind. */
function fieldSelectorFor(name: string | undefined): { fieldSelector?: string } {
  return name === undefined ? {} : { fieldSelector: `metadata.name=${name}` };
}

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
    listSlots: async (name) => {
      const list = await must(spec('list', `(${name ?? SELECTOR})`), () =>
        api.listNamespacedLease({ namespace, labelSelector: SELECTOR, ...fieldSelectorFor(name) }),
      );
      return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '' };
    },
    watchSlots: (resourceVersion, onEvent, name) =>
      watchOver(config, `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases`, resourceVersion, onEvent, name),
    create: (body) =>
      must(spec('create', body.metadata?.name ?? '?'), () => api.createNamespacedLease({ namespace, body })),
    replace: async (body) => {
      const name = body.metadata?.name ?? '?';
      const written = await callApi(
        spec('update', name),
        policy,
        () => api.replaceNamespacedLease({ namespace, name, body }),
        true,
      );
      // Deleted since we read it (its holder released it): the slot changed under us, as with a 409.
      if (written === undefined) throw new ConflictError(`Lease ${namespace}/${name} was deleted since it was read`);
      return written;
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
