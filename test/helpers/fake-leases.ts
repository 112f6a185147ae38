// coordination.k8s.io/v1 Leases for the fake API server, as kube-apiserver serves them: namespaced
// list (label selector), get, create (409 AlreadyExists), update (409 Conflict on a stale
// resourceVersion), delete (DeleteOptions.preconditions.resourceVersion, 409 when stale). Every
// change is recorded with the server's time, so tests can tell who held which slot when, and sent to
// the open watches (fake-lease-watch.ts).
import type { ServerResponse } from 'node:http';
import { LeaseWatches } from './fake-lease-watch.ts';

// biome-ignore lint/suspicious/noExplicitAny: parsed JSON of a Lease, read field by field
type Obj = Record<string, any>;

/** One change to a Lease: who holds it after the write (undefined once deleted or released). */
export interface LeaseChange {
  readonly atMs: number;
  readonly name: string;
  readonly holder: string | undefined;
}

const GROUP = 'coordination.k8s.io';

function status(code: number, reason: string, message: string, name: string): Obj {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    details: { name, group: GROUP, kind: 'leases' },
    code,
  };
}

function conflict(name: string): [number, Obj] {
  return [
    409,
    status(
      409,
      'Conflict',
      `Operation cannot be fulfilled on leases.coordination.k8s.io "${name}": the object has been modified; please ` +
        `apply your changes to the latest version and try again`,
      name,
    ),
  ];
}

function selects(labels: Obj | undefined, selector: string | null): boolean {
  if (selector === null || selector === '') return true;
  return selector.split(',').every((term) => {
    const [key, value] = term.split('=');
    return labels?.[key!] === value;
  });
}

/** A field selector kube-apiserver accepts for Leases: `metadata.name` / `metadata.namespace` with =, ==, !=. */
export class FieldSelectorError extends Error {}

function selectsFields(lease: Obj, selector: string | null): boolean {
  if (selector === null || selector === '') return true;
  return selector.split(',').every((term) => {
    const match = /^(metadata\.name|metadata\.namespace)(==|=|!=)(.*)$/.exec(term);
    if (match === null) throw new FieldSelectorError(`"${term}" is not a field selector Leases support`);
    const actual = match[1] === 'metadata.name' ? lease.metadata?.name : lease.metadata?.namespace;
    return match[2] === '!=' ? actual !== match[3] : actual === match[3];
  });
}

/** Whether a Lease matches a request's labelSelector and fieldSelector. */
function selectedBy(lease: Obj, url: URL): boolean {
  return (
    selects(lease.metadata?.labels, url.searchParams.get('labelSelector')) &&
    selectsFields(lease, url.searchParams.get('fieldSelector'))
  );
}

/** The Leases of every namespace, keyed `namespace/name`. */
export class FakeLeases {
  readonly store = new Map<string, Obj>();
  readonly history: LeaseChange[] = [];
  /** The most Leases ever held by someone at the same moment. */
  peakHolders = 0;

  /** The watch streams, and the change log they replay from (the last 1,000 changes). */
  readonly watches: LeaseWatches;
  private readonly nextVersion: () => string;
  private readonly currentVersion: () => number;

  constructor(nextVersion: () => string, currentVersion: () => number) {
    this.nextVersion = nextVersion;
    this.currentVersion = currentVersion;
    this.watches = new LeaseWatches(1000, currentVersion);
  }

  /** Leases of a namespace that name a holder now. */
  holders(namespace: string): string[] {
    return [...this.store.entries()]
      .filter(([key, lease]) => key.startsWith(`${namespace}/`) && lease.spec?.holderIdentity)
      .map(([, lease]) => lease.spec.holderIdentity as string);
  }

  /** Another node's write of restart slot `slot` (our Lease name and label) with this spec. */
  putSlot(namespace: string, slot: number, spec: Obj): Obj {
    const labels = { 'app.kubernetes.io/managed-by': 'kata-deploy' };
    return this.put(namespace, { metadata: { name: `kata-deploy-restart-${slot}`, labels }, spec });
  }

  /** Another writer (an operator, a crashed holder's last write) puts a Lease as given. */
  put(namespace: string, lease: Obj): Obj {
    const stored: Obj = {
      apiVersion: `${GROUP}/v1`,
      kind: 'Lease',
      ...lease,
      metadata: {
        ...lease.metadata,
        namespace,
        uid: `uid-lease-${lease.metadata.name}`,
        resourceVersion: this.nextVersion(),
      },
    };
    const key = `${namespace}/${lease.metadata.name}`;
    const type = this.store.has(key) ? 'MODIFIED' : 'ADDED';
    this.store.set(key, stored);
    this.record(lease.metadata.name, stored.spec?.holderIdentity);
    this.watches.publish({ type, namespace, version: Number(stored.metadata.resourceVersion), object: stored });
    return stored;
  }

  private record(name: string, holder: string | undefined): void {
    this.history.push({ atMs: Date.now(), name, holder: holder === '' ? undefined : holder });
    const held = [...this.store.values()].filter((lease) => lease.spec?.holderIdentity).length;
    this.peakHolders = Math.max(this.peakHolders, held);
  }

  private listed(namespace: string, url: URL): Obj[] {
    // kube-apiserver parses the selector before it reads anything: a bad one is a 400 even with no Lease.
    selectsFields({}, url.searchParams.get('fieldSelector'));
    return [...this.store.entries()]
      .filter(([key, lease]) => key.startsWith(`${namespace}/`) && selectedBy(lease, url))
      .map(([, lease]) => lease);
  }

  /** Whether a request is a watch (`?watch=true` as client-node sends it, or `?watch=1`). */
  static isWatch(method: string, name: string | undefined, url: URL): boolean {
    const watch = url.searchParams.get('watch');
    return method === 'GET' && name === undefined && (watch === 'true' || watch === '1');
  }

  /** Serves `GET …/namespaces/<ns>/leases?watch=…` as a stream (fake-lease-watch.ts). */
  watch(res: ServerResponse, namespace: string, url: URL): void {
    this.watches.serve(res, namespace, url, (lease) => selectedBy(lease, url), this.listed(namespace, url));
  }

  /** Serves `/apis/coordination.k8s.io/v1/namespaces/<ns>/leases[/<name>]`. */
  route(method: string, namespace: string, name: string | undefined, url: URL, body: Obj): [number, Obj] {
    if (name === undefined && method === 'GET') {
      const items = this.listed(namespace, url);
      const resourceVersion = String(this.currentVersion());
      return [200, { apiVersion: `${GROUP}/v1`, kind: 'LeaseList', metadata: { resourceVersion }, items }];
    }
    if (name === undefined && method === 'POST') {
      const wanted = body.metadata.name as string;
      if (this.store.has(`${namespace}/${wanted}`))
        return [409, status(409, 'AlreadyExists', `leases.coordination.k8s.io "${wanted}" already exists`, wanted)];
      return [201, this.put(namespace, body)];
    }
    if (name === undefined) return [405, status(405, 'MethodNotAllowed', method, '')];
    const current = this.store.get(`${namespace}/${name}`);
    if (current === undefined)
      return [404, status(404, 'NotFound', `leases.coordination.k8s.io "${name}" not found`, name)];
    if (method === 'GET') return [200, current];
    if (method === 'PUT') {
      const wanted = body.metadata?.resourceVersion;
      if (wanted !== undefined && wanted !== current.metadata.resourceVersion) return conflict(name);
      return [200, this.put(namespace, { ...body, metadata: { ...body.metadata, name } })];
    }
    if (method === 'DELETE') {
      const wanted = body?.preconditions?.resourceVersion;
      if (wanted !== undefined && wanted !== current.metadata.resourceVersion) return conflict(name);
      this.store.delete(`${namespace}/${name}`);
      this.record(name, undefined);
      const gone = { ...current, metadata: { ...current.metadata, resourceVersion: this.nextVersion() } };
      this.watches.publish({
        type: 'DELETED',
        namespace,
        version: Number(gone.metadata.resourceVersion),
        object: gone,
      });
      return [
        200,
        {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Success',
          details: { name, group: GROUP, kind: 'leases', uid: current.metadata.uid },
        },
      ];
    }
    return [405, status(405, 'MethodNotAllowed', method, name)];
  }
}
