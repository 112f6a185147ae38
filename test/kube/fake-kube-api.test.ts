// The fake API server is a test instrument: these check it speaks the wire format the real client
// and the real API server agree on, so the other kube tests prove something.
import { request } from 'node:https';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeKubeApi } from '../helpers/fake-kube-api.js';
// biome-ignore lint/suspicious/noExplicitAny: parsed JSON of any Kubernetes kind, read field by field
type Obj = Record<string, any>;

let api: FakeKubeApi;
beforeEach(async () => {
  api = await new FakeKubeApi().start();
  api.addNode('n1', { a: '1' });
});
afterEach(async () => api.stop());

function call(
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
  token = 'fake-token',
): Promise<{ status: number; json: Obj }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${api.url}${path}`,
      { method, ca: api.caPem(), headers: { authorization: `Bearer ${token}`, 'content-type': contentType } },
      (res) => {
        let text = '';
        res.on('data', (chunk) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode!, json: JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

describe('fake API server wire format', () => {
  it('applies a strategic merge patch to labels', async () => {
    const { status, json } = await call(
      'PATCH',
      '/api/v1/nodes/n1',
      { metadata: { labels: { b: '2', a: null } } },
      'application/strategic-merge-patch+json',
    );
    expect(status).toBe(200);
    expect(json.metadata.labels).toEqual({ 'kubernetes.io/hostname': 'n1', b: '2' });
  });

  it('applies a JSON patch, escaping / in label keys, and refuses a failed test op with 422', async () => {
    const rv = api.nodes.get('n1')!.metadata.resourceVersion;
    const ok = await call(
      'PATCH',
      '/api/v1/nodes/n1',
      [
        { op: 'test', path: '/metadata/resourceVersion', value: rv },
        { op: 'add', path: '/metadata/labels/katacontainers.io~1kata-runtime', value: 'false' },
      ],
      'application/json-patch+json',
    );
    expect(ok.json.metadata.labels['katacontainers.io/kata-runtime']).toBe('false');
    const stale = await call(
      'PATCH',
      '/api/v1/nodes/n1',
      [{ op: 'test', path: '/metadata/resourceVersion', value: rv }],
      'application/json-patch+json',
    );
    expect(stale).toMatchObject({ status: 422, json: { kind: 'Status', reason: 'Invalid' } });
  });

  it('answers a merge patch with a stale resourceVersion with a 409 Conflict Status', async () => {
    const { status, json } = await call(
      'PATCH',
      '/api/v1/nodes/n1',
      { metadata: { resourceVersion: '1', labels: { c: '3' } } },
      'application/merge-patch+json',
    );
    expect(status).toBe(409);
    expect(json).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'Conflict', code: 409 });
    expect(api.labels('n1').c).toBeUndefined();
  });

  it('refuses an unknown patch type with 415 and a bad token with 401', async () => {
    expect((await call('PATCH', '/api/v1/nodes/n1', {}, 'application/json')).status).toBe(415);
    expect((await call('GET', '/api/v1/nodes/n1', undefined, 'application/json', 'wrong')).status).toBe(401);
  });

  it('lists RuntimeClasses by label selector', async () => {
    await call('POST', '/apis/node.k8s.io/v1/runtimeclasses', {
      metadata: { name: 'a', labels: { mine: 'yes' } },
      handler: 'a',
    });
    await call('POST', '/apis/node.k8s.io/v1/runtimeclasses', { metadata: { name: 'b' }, handler: 'b' });
    const { json } = await call('GET', '/apis/node.k8s.io/v1/runtimeclasses?labelSelector=mine%3Dyes');
    expect(json.items.map((rc: Obj) => rc.metadata.name)).toEqual(['a']);
    expect(
      (await call('POST', '/apis/node.k8s.io/v1/runtimeclasses', { metadata: { name: 'a' }, handler: 'a' })).json
        .reason,
    ).toBe('AlreadyExists');
  });

  it('Lease LIST and WATCH honour fieldSelector=metadata.name, and refuse fields Leases do not support', async () => {
    for (const name of ['kata-deploy-restart-0', 'kata-deploy-restart-1'])
      api.leases.put('kata-deploy', { metadata: { name }, spec: { holderIdentity: name } });
    const base = '/apis/coordination.k8s.io/v1/namespaces/kata-deploy/leases';
    const one = await call('GET', `${base}?fieldSelector=${encodeURIComponent('metadata.name=kata-deploy-restart-1')}`);
    expect(one.json.items.map((lease: Obj) => lease.metadata.name)).toEqual(['kata-deploy-restart-1']);
    const others = await call(
      'GET',
      `${base}?fieldSelector=${encodeURIComponent('metadata.name!=kata-deploy-restart-1')}`,
    );
    expect(others.json.items.map((lease: Obj) => lease.metadata.name)).toEqual(['kata-deploy-restart-0']);
    const empty = await call('GET', `/apis/coordination.k8s.io/v1/namespaces/none/leases?fieldSelector=spec.x%3D1`);
    expect(empty.status).toBe(400);
    const bad = await call('GET', `${base}?fieldSelector=${encodeURIComponent('spec.holderIdentity=x')}`);
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ kind: 'Status', reason: 'BadRequest' });
    expect(bad.json.message).toContain('spec.holderIdentity=x');
    // One JSON line (a second one would fail the parse): the initial ADDED of the one Lease selected.
    const watched = await call(
      'GET',
      `${base}?watch=1&timeoutSeconds=1&fieldSelector=${encodeURIComponent('metadata.name=kata-deploy-restart-0')}`,
    );
    expect(watched.json).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'kata-deploy-restart-0' } } });
  });
});
