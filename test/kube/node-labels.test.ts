import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KataDeployError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/host/logger.js';
import { KATA_RUNTIME_LABEL as SHARED, markLabel } from '../../src/kube/labels.js';
import { claimNode, labelReady, liftStartupTaints, nodeTarget, releaseNode } from '../../src/kube/node-labels.js';
import { startFakeKube, type FakeKubeSetup } from '../helpers/fake-kube-setup.js';

let setup: FakeKubeSetup;
const log = silentLogger();

beforeEach(async () => {
  setup = await startFakeKube();
  setup.api.addNode('worker-1');
});
afterEach(async () => setup.cleanup());

const target = (suffix?: string) => nodeTarget(setup.access.kube, 'worker-1', suffix, log);

describe('node labels against the API server', () => {
  it(
    'an install claims the node false, then labels it true, with merge patches guarded by ' + 'resourceVersion',
    async () => {
      await claimNode(target());
      expect(setup.api.labels('worker-1')).toMatchObject({ [SHARED]: 'false', [markLabel(undefined)]: 'false' });
      await labelReady(target());
      expect(setup.api.labels('worker-1')).toMatchObject({ [SHARED]: 'true', [markLabel(undefined)]: 'true' });
      const patches = setup.api.requests.filter((r) => r.method === 'PATCH');
      expect(patches).toHaveLength(2);
      for (const patch of patches) {
        expect(patch.contentType).toBe('application/merge-patch+json');
        expect(patch.body).toMatchObject({ metadata: { resourceVersion: expect.any(String) } });
      }
    },
  );

  it('two installs with different suffixes share the label until the last one leaves', async () => {
    await claimNode(target());
    await labelReady(target());
    await claimNode(target('dev'));
    expect(setup.api.labels('worker-1')[SHARED]).toBe('true');
    await labelReady(target('dev'));
    await releaseNode(target());
    expect(setup.api.labels('worker-1')).toMatchObject({ [SHARED]: 'true', [markLabel('dev')]: 'true' });
    expect(setup.api.labels('worker-1')[markLabel(undefined)]).toBeUndefined();
    await releaseNode(target('dev'));
    expect(Object.keys(setup.api.labels('worker-1'))).toEqual(['kubernetes.io/hostname']);
  });

  it('an uninstall beside an unfinished install demotes the shared label to false', async () => {
    await claimNode(target());
    await labelReady(target());
    await claimNode(target('dev'));
    await releaseNode(target());
    expect(setup.api.labels('worker-1')).toMatchObject({ [SHARED]: 'false', [markLabel('dev')]: 'false' });
  });

  it('a conflict re-reads the node and decides again from what another install wrote meanwhile', async () => {
    await claimNode(target());
    await labelReady(target());
    // Between our read and our write, another install finishes on the node: its mark must keep the shared label.
    setup.api.faults.push({
      method: 'PATCH',
      times: 1,
      action: {
        before: (api) =>
          api.mutateNode('worker-1', (node) => {
            node.metadata.labels[markLabel('dev')] = 'true';
          }),
      },
    });
    await releaseNode(target());
    expect(setup.api.labels('worker-1')).toMatchObject({ [SHARED]: 'true', [markLabel('dev')]: 'true' });
    expect(setup.api.requests.filter((r) => r.method === 'GET')).toHaveLength(4);
  });

  it('429 waits the Retry-After the server asked for, and 500s and dropped connections are retried', async () => {
    setup.api.faults.push({ method: 'GET', times: 1, action: { status: 429, retryAfter: '3' } });
    setup.api.faults.push({ method: 'GET', times: 1, action: { status: 500 } });
    setup.api.faults.push({ method: 'PATCH', times: 1, action: { drop: true } });
    await claimNode(target());
    expect(setup.api.labels('worker-1')[SHARED]).toBe('false');
    expect(setup.clock.sleeps[0]).toBe(3000);
    expect(setup.clock.sleeps).toHaveLength(3);
  });

  it('an API server that keeps failing past the deadline is a kube-api error', async () => {
    setup.api.faults.push({ method: 'GET', times: 1000, action: { status: 503 } });
    await expect(claimNode(target())).rejects.toMatchObject({
      code: 'kube-api',
      message: expect.stringContaining('HTTP 503'),
    });
  });

  it('403 names the RBAC verb and resource to grant', async () => {
    setup.api.forbidden.add('patch nodes');
    const error = await claimNode(target()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KataDeployError);
    expect(error).toMatchObject({
      code: 'kube-api',
      message: expect.stringContaining('verb "patch" on resource "nodes"'),
    });
    expect((error as KataDeployError).exitCode).toBe(7);
  });

  it('the port also sends JSON patches, with the content type the API server reads', async () => {
    const rv = setup.api.nodes.get('worker-1')!.metadata.resourceVersion;
    const node = await setup.access.kube.patchNode('worker-1', {
      type: 'json',
      ops: [
        { op: 'test', path: '/metadata/resourceVersion', value: rv },
        { op: 'add', path: '/metadata/labels/kata-deploy.katacontainers.io~1default', value: 'false' },
      ],
    });
    expect(node.metadata?.labels?.[markLabel(undefined)]).toBe('false');
    expect(setup.api.requests.at(-1)?.contentType).toBe('application/json-patch+json');
  });

  it('start-up taints are lifted after labelling, keeping the taints that were not asked for', async () => {
    setup.api.mutateNode('worker-1', (node) => {
      node.spec.taints = [
        { key: 'kata/starting', effect: 'NoSchedule' },
        { key: 'other', effect: 'NoExecute' },
      ];
    });
    const labelled = await labelReady(target());
    const removed = await liftStartupTaints(target(), ['kata/starting'], labelled.node);
    expect(removed).toEqual(['kata/starting:NoSchedule']);
    expect(setup.api.nodes.get('worker-1')!.spec.taints).toEqual([{ key: 'other', effect: 'NoExecute' }]);
  });
});
