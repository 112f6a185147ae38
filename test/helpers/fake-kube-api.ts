// A local HTTPS stand-in for kube-apiserver that speaks the wire format of the calls kata-deploy makes
// (nodes get/patch in three patch formats, events, daemonsets, runtimeclasses, leases), with resourceVersion
// preconditions, Status objects, and injectable faults: 409, 429 + Retry-After, 500, 403, dropped
// connections. Driven through the real @kubernetes/client-node via the kubeconfig it writes.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { makeSelfSignedCert } from './self-signed-cert.ts';
import { FakeLeases, FieldSelectorError } from './fake-leases.ts';
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch, PatchError } from './kube-patch.ts';

// biome-ignore lint/suspicious/noExplicitAny: parsed JSON/YAML of any Kubernetes kind, read field by field
type Obj = Record<string, any>;

/** One recorded request, for asserting on what the client sent and counting requests per node. */
export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  /** The query string, `?…` or empty. */
  readonly query: string;
  readonly contentType: string | undefined;
  readonly body: unknown;
  /** The status answered (a watch: 200 once its stream opened); undefined until then or if dropped. */
  status?: number;
}

/** What to do instead of (or before) serving a request that matches. */
export type FaultAction =
  | { readonly status: 409 | 429 | 500 | 503 | 403 | 401; readonly retryAfter?: string }
  | { readonly drop: true }
  /** Runs first, then the request is served; a returned promise holds the answer back until it settles. */
  | { readonly before: (api: FakeKubeApi) => void | Promise<void> };

export interface Fault {
  readonly method?: string;
  /** Substring of the request path. */
  readonly path?: string;
  /** How many matching requests it applies to. */
  times: number;
  readonly action: FaultAction;
}

const TOKEN = 'fake-token';
const SA = 'system:serviceaccount:kata-deploy:kata-deploy';

function status(code: number, reason: string, message: string, details?: Obj): Obj {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, details, code };
}

function matchesSelector(labels: Obj | undefined, selector: string | null): boolean {
  if (selector === null || selector === '') return true;
  return selector.split(',').every((term) => {
    const [key, value] = term.split('=');
    return labels?.[key!] === value;
  });
}

export class FakeKubeApi {
  readonly nodes = new Map<string, Obj>();
  readonly runtimeClasses = new Map<string, Obj>();
  readonly daemonSets = new Map<string, Obj>();
  readonly events: Obj[] = [];
  /** coordination.k8s.io/v1 Leases (the restart budget's slots), with their history of holders. */
  readonly leases = new FakeLeases(
    () => this.nextVersion(),
    () => this.version,
  );
  readonly requests: RecordedRequest[] = [];
  readonly faults: Fault[] = [];
  /** `verb resource`, e.g. `patch nodes`, answered with 403 as RBAC would. */
  readonly forbidden = new Set<string>();
  url = '';
  /**
   * Requests received and not yet answered (an open watch stream counts only until its headers are
   * sent): the fleet benchmark's clock waits for 0 before moving on.
   */
  inFlight = 0;
  /**
   * When set, every answer (and a watch stream's start) waits for this first: the fleet benchmark's fixed
   * round-trip latency on its virtual clock. The request's effect happens on arrival.
   */
  latency: (() => Promise<void>) | undefined;
  /** Requests whose answer waits on `latency` now: the virtual clock counts them as quiet. */
  parked = 0;
  private server: Server | undefined;
  private version = 1000;
  private ca = '';

  /** Starts on 127.0.0.1 with a fresh self-signed certificate. */
  async start(): Promise<this> {
    const { cert, key } = makeSelfSignedCert();
    this.ca = cert;
    this.server = createServer({ cert, key }, (req, res) => {
      this.inFlight += 1;
      let answered = false;
      const settle = () => {
        if (!answered) this.inFlight -= 1;
        answered = true;
      };
      res.once('close', settle);
      res.once('watching', settle);
      void this.handle(req, res);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    if (this.server === undefined) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  /** The ServiceAccount token the server accepts, what a pod finds in its ServiceAccount's token file. */
  bearerToken(): string {
    return TOKEN;
  }

  /** The server's certificate, what a pod finds in its ServiceAccount's ca.crt. */
  caPem(): string {
    return this.ca;
  }

  /** A kubeconfig for this server (CA pinned, bearer token), written to `file`. */
  writeKubeconfig(file: string, namespace = 'kata-deploy'): string {
    const ca = Buffer.from(this.ca).toString('base64');
    writeFileSync(
      file,
      [
        'apiVersion: v1',
        'kind: Config',
        'current-context: fake',
        'clusters:',
        `- name: fake`,
        '  cluster:',
        `    server: ${this.url}`,
        `    certificate-authority-data: ${ca}`,
        'users:',
        '- name: fake',
        '  user:',
        `    token: ${TOKEN}`,
        'contexts:',
        '- name: fake',
        '  context:',
        '    cluster: fake',
        '    user: fake',
        `    namespace: ${namespace}`,
        '',
      ].join('\n'),
    );
    return file;
  }

  private nextVersion(): string {
    this.version += 1;
    return String(this.version);
  }

  addNode(name: string, labels: Obj = {}, taints: Obj[] = []): Obj {
    const node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name,
        uid: `uid-${name}`,
        labels: { 'kubernetes.io/hostname': name, ...labels },
        resourceVersion: this.nextVersion(),
      },
      spec: taints.length > 0 ? { taints } : {},
    };
    this.nodes.set(name, node);
    return node;
  }

  /** Another writer (a kubelet, another install) changes a node: its resourceVersion moves on. */
  mutateNode(name: string, mutate: (node: Obj) => void): void {
    const node = this.nodes.get(name)!;
    mutate(node);
    node.metadata.resourceVersion = this.nextVersion();
  }

  labels(name: string): Obj {
    return this.nodes.get(name)?.metadata.labels ?? {};
  }

  addDaemonSet(namespace: string, name: string, spec: Obj = {}): void {
    this.daemonSets.set(`${namespace}/${name}`, {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name, namespace, uid: `uid-ds-${name}`, resourceVersion: this.nextVersion() },
      spec: {
        selector: { matchLabels: { name } },
        template: { metadata: { labels: { name } }, spec: { containers: [{ name, image: 'x' }], ...spec } },
      },
    });
  }

  /** The cluster-wide teardown: our DaemonSet is deleted. */
  removeDaemonSet(namespace: string, name: string): void {
    this.daemonSets.delete(`${namespace}/${name}`);
  }

  private send(res: ServerResponse, code: number, body: Obj, headers: Record<string, string> = {}): void {
    res.writeHead(code, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', this.url);
    const text = Buffer.concat(chunks).toString('utf8');
    const body = text === '' ? undefined : JSON.parse(text);
    const method = req.method ?? 'GET';
    const contentType = req.headers['content-type']?.split(';')[0];
    const recorded: RecordedRequest = { method, path: url.pathname, query: url.search, contentType, body };
    this.requests.push(recorded);
    const answered = () => {
      if (res.headersSent) recorded.status = res.statusCode;
    };
    res.once('finish', answered);
    res.once('watching', answered);
    for (const fault of this.faults) {
      if (
        fault.times <= 0 ||
        (fault.method !== undefined && fault.method !== method) ||
        (fault.path !== undefined && !url.pathname.includes(fault.path))
      )
        continue;
      fault.times -= 1;
      const action = fault.action;
      if ('drop' in action) {
        req.socket.destroy();
        return;
      }
      if ('before' in action) {
        await action.before(this);
        break;
      }
      const reasons: Record<number, string> = {
        401: 'Unauthorized',
        403: 'Forbidden',
        409: 'Conflict',
        429: 'TooManyRequests',
        500: 'InternalError',
        503: 'ServiceUnavailable',
      };
      this.send(
        res,
        action.status,
        status(action.status, reasons[action.status]!, `injected ${action.status}`),
        action.retryAfter === undefined ? {} : { 'retry-after': action.retryAfter },
      );
      return;
    }
    if (req.headers.authorization !== `Bearer ${TOKEN}`)
      return this.send(res, 401, status(401, 'Unauthorized', 'Unauthorized'));
    const leaseWatch = /^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/([^/]+)\/leases$/.exec(url.pathname);
    if (leaseWatch !== null && FakeLeases.isWatch(method, undefined, url)) {
      const denied = this.deny('watch', 'leases', 'coordination.k8s.io', '');
      if (denied !== undefined) return this.send(res, ...denied);
      await this.wait();
      try {
        this.leases.watch(res, decodeURIComponent(leaseWatch[1]!), url);
      } catch (error) {
        if (error instanceof FieldSelectorError) return this.send(res, 400, status(400, 'BadRequest', error.message));
        throw error;
      }
      res.emit('watching');
      return;
    }
    try {
      const [code, answer] = this.route(method, url, contentType, body);
      await this.wait();
      this.send(res, code, answer);
    } catch (error) {
      if (error instanceof PatchError) return this.send(res, 422, status(422, 'Invalid', error.message));
      if (error instanceof FieldSelectorError) return this.send(res, 400, status(400, 'BadRequest', error.message));
      throw error;
    }
  }

  private async wait(): Promise<void> {
    if (this.latency === undefined) return;
    this.parked += 1;
    try {
      await this.latency();
    } finally {
      this.parked -= 1;
    }
  }

  private deny(verb: string, resource: string, group: string, name: string): [number, Obj] | undefined {
    if (!this.forbidden.has(`${verb} ${resource}`)) return undefined;
    return [
      403,
      status(
        403,
        'Forbidden',
        `${resource} "${name}" is forbidden: User "${SA}" cannot ${verb} resource "${resource}" in API group ` +
          `"${group}" at the cluster scope`,
        { name, kind: resource },
      ),
    ];
  }

  private route(method: string, url: URL, contentType: string | undefined, body: Obj): [number, Obj] {
    const path = url.pathname;
    const nodeMatch = /^\/api\/v1\/nodes\/([^/]+)$/.exec(path);
    if (nodeMatch !== null) {
      const name = decodeURIComponent(nodeMatch[1]!);
      const verb = method === 'GET' ? 'get' : 'patch';
      const denied = this.deny(verb, 'nodes', '', name);
      if (denied !== undefined) return denied;
      const node = this.nodes.get(name);
      if (node === undefined)
        return [404, status(404, 'NotFound', `nodes "${name}" not found`, { name, kind: 'nodes' })];
      if (method === 'GET') return [200, node];
      if (method !== 'PATCH') return [405, status(405, 'MethodNotAllowed', method)];
      const apply =
        contentType === 'application/merge-patch+json'
          ? applyMergePatch
          : contentType === 'application/strategic-merge-patch+json'
            ? applyStrategicMergePatch
            : contentType === 'application/json-patch+json'
              ? applyJsonPatch
              : undefined;
      if (apply === undefined)
        return [
          415,
          status(
            415,
            'UnsupportedMediaType',
            `the body of the request was in an unknown format - accepted media types include: ` +
              `application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`,
          ),
        ];
      const patched = apply(node, body) as Obj;
      const wanted = patched.metadata?.resourceVersion;
      if (wanted !== node.metadata.resourceVersion) {
        return [
          409,
          status(
            409,
            'Conflict',
            `Operation cannot be fulfilled on nodes "${name}": the object has been modified; please apply your ` +
              `changes to the latest version and try again`,
            { name, kind: 'nodes' },
          ),
        ];
      }
      patched.metadata.resourceVersion = this.nextVersion();
      this.nodes.set(name, patched);
      return [200, patched];
    }
    const eventsMatch = /^\/api\/v1\/namespaces\/([^/]+)\/events$/.exec(path);
    if (eventsMatch !== null && method === 'POST') {
      const denied = this.deny('create', 'events', '', body?.metadata?.name ?? '');
      if (denied !== undefined) return denied;
      const event = {
        ...body,
        metadata: { ...body.metadata, namespace: eventsMatch[1], resourceVersion: this.nextVersion() },
      };
      this.events.push(event);
      return [201, event];
    }
    const daemonSetMatch = /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/daemonsets\/([^/]+)$/.exec(path);
    if (daemonSetMatch !== null && method === 'GET') {
      const denied = this.deny('get', 'daemonsets', 'apps', daemonSetMatch[2]!);
      if (denied !== undefined) return denied;
      const ds = this.daemonSets.get(`${daemonSetMatch[1]}/${daemonSetMatch[2]}`);
      return ds === undefined
        ? [
            404,
            status(404, 'NotFound', `daemonsets.apps "${daemonSetMatch[2]}" not found`, {
              name: daemonSetMatch[2],
              group: 'apps',
              kind: 'daemonsets',
            }),
          ]
        : [200, ds];
    }
    const runtimeClassMatch = /^\/apis\/node\.k8s\.io\/v1\/runtimeclasses(?:\/([^/]+))?$/.exec(path);
    if (runtimeClassMatch !== null) {
      return this.runtimeClassRoute(
        method,
        runtimeClassMatch[1] === undefined ? undefined : decodeURIComponent(runtimeClassMatch[1]),
        url,
        body,
      );
    }
    const leaseMatch = /^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/([^/]+)\/leases(?:\/([^/]+))?$/.exec(path);
    if (leaseMatch !== null) {
      const name = leaseMatch[2] === undefined ? undefined : decodeURIComponent(leaseMatch[2]);
      const verb =
        { GET: name === undefined ? 'list' : 'get', POST: 'create', PUT: 'update', DELETE: 'delete' }[method] ??
        method.toLowerCase();
      const denied = this.deny(verb, 'leases', 'coordination.k8s.io', name ?? body?.metadata?.name ?? '');
      return denied ?? this.leases.route(method, leaseMatch[1]!, name, url, body);
    }
    return [404, status(404, 'NotFound', `the server could not find the requested resource (${method} ${path})`)];
  }

  private runtimeClassRoute(method: string, name: string | undefined, url: URL, body: Obj): [number, Obj] {
    const verb =
      { GET: name === undefined ? 'list' : 'get', POST: 'create', PUT: 'update' }[method] ?? method.toLowerCase();
    const denied = this.deny(verb, 'runtimeclasses', 'node.k8s.io', name ?? body?.metadata?.name ?? '');
    if (denied !== undefined) return denied;
    const notFound = (n: string): [number, Obj] => [
      404,
      status(404, 'NotFound', `runtimeclasses.node.k8s.io "${n}" not found`, {
        name: n,
        group: 'node.k8s.io',
        kind: 'runtimeclasses',
      }),
    ];
    if (name === undefined && method === 'GET') {
      const items = [...this.runtimeClasses.values()].filter((rc) =>
        matchesSelector(rc.metadata.labels, url.searchParams.get('labelSelector')),
      );
      return [
        200,
        {
          apiVersion: 'node.k8s.io/v1',
          kind: 'RuntimeClassList',
          metadata: { resourceVersion: String(this.version) },
          items,
        },
      ];
    }
    if (name === undefined && method === 'POST') {
      const n = body.metadata.name as string;
      if (this.runtimeClasses.has(n))
        return [
          409,
          status(409, 'AlreadyExists', `runtimeclasses.node.k8s.io "${n}" already exists`, {
            name: n,
            group: 'node.k8s.io',
            kind: 'runtimeclasses',
          }),
        ];
      const created = {
        ...body,
        apiVersion: 'node.k8s.io/v1',
        kind: 'RuntimeClass',
        metadata: { ...body.metadata, uid: `uid-rc-${n}`, resourceVersion: this.nextVersion() },
      };
      this.runtimeClasses.set(n, created);
      return [201, created];
    }
    if (name === undefined) return [405, status(405, 'MethodNotAllowed', method)];
    const current = this.runtimeClasses.get(name);
    if (current === undefined) return notFound(name);
    if (method === 'GET') return [200, current];
    if (method === 'PUT') {
      const wanted = body.metadata?.resourceVersion;
      if (wanted !== undefined && wanted !== current.metadata.resourceVersion) {
        return [
          409,
          status(
            409,
            'Conflict',
            `Operation cannot be fulfilled on runtimeclasses.node.k8s.io "${name}": the object has been modified; ` +
              `please apply your changes to the latest version and try again`,
            { name, kind: 'runtimeclasses' },
          ),
        ];
      }
      const updated = {
        ...body,
        metadata: { ...body.metadata, uid: current.metadata.uid, resourceVersion: this.nextVersion() },
      };
      this.runtimeClasses.set(name, updated);
      return [200, updated];
    }
    return [405, status(405, 'MethodNotAllowed', method)];
  }
}
