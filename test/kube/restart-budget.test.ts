import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { systemClock } from '../../src/host/clock.js';
import { silentLogger } from '../../src/host/logger.js';
import { restartBudget, type RestartBudgetOptions } from '../../src/kube/restart-budget.js';
import { homeSlot } from '../../src/kube/restart-slots.js';
import { startFakeKube, type FakeKubeSetup } from '../helpers/fake-kube-setup.js';
import { capturedLog } from '../helpers/captured-log.js';

const NS = 'kata-deploy';
const leasePaths = (setup: FakeKubeSetup) =>
  setup.api.requests.filter((request) => request.path.includes('/leases')).map((r) => `${r.method} ${r.path}`);

describe('restart budget over Leases, against the fake API server', () => {
  let setup: FakeKubeSetup;
  beforeEach(async () => {
    setup = await startFakeKube('node-a');
  });
  afterEach(async () => {
    await setup.cleanup();
  });

  const budgetFor = (node: string, budget: number, options: Partial<RestartBudgetOptions> = {}) =>
    restartBudget(setup.access.leasesIn(NS), node, budget, {
      clock: setup.clock,
      log: silentLogger(),
      random: () => 0,
      ...options,
    });

  it('a free home slot: one create, a LIST beside the restart for slots of an earlier run, one delete', async () => {
    const budget = budgetFor('node-a', 2);
    await budget.acquire();
    const home = homeSlot('node-a', 2);
    expect(budget.held()).toBe(home);
    const lease = setup.api.leases.store.get(`${NS}/kata-deploy-restart-${home}`)!;
    expect(lease.spec).toMatchObject({ holderIdentity: 'node-a', leaseDurationSeconds: 60, leaseTransitions: 0 });
    expect(lease.spec.acquireTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(lease.metadata.labels).toEqual({ 'app.kubernetes.io/managed-by': 'kata-deploy' });
    await budget.release();
    expect(setup.api.leases.store.size).toBe(0);
    expect(leasePaths(setup)).toEqual([
      `POST /apis/coordination.k8s.io/v1/namespaces/${NS}/leases`,
      `GET /apis/coordination.k8s.io/v1/namespaces/${NS}/leases`,
      `DELETE /apis/coordination.k8s.io/v1/namespaces/${NS}/leases/kata-deploy-restart-${home}`,
    ]);
  });

  it('waits on a watch while every slot is held, logs who holds them, and takes the slot once released', async () => {
    const holder = budgetFor('node-b', 1, { clock: systemClock });
    await holder.acquire();
    const { log, messages: lines } = capturedLog();
    const waiter = budgetFor('node-a', 1, { clock: systemClock, log });
    const acquired = waiter.acquire();
    await vi.waitFor(() => expect(setup.api.leases.watches.open).toBe(1));
    expect(waiter.held()).toBeUndefined();
    await holder.release();
    await acquired;
    expect(waiter.held()).toBe(0);
    const base = `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases`;
    expect(leasePaths(setup)).toEqual([
      `POST ${base}`,
      `POST ${base}`,
      `GET ${base}`,
      `GET ${base}`,
      `DELETE ${base}/kata-deploy-restart-0`,
      `POST ${base}`,
    ]);
    expect(lines).toContain('waiting to restart the runtime: all 1 restart slot(s) are held by node-b');
    expect(lines.filter((line) => line.startsWith('waiting'))).toHaveLength(1);
    await waiter.release();
  });

  it('takes over the slot of a holder that crashed once its Lease has expired', async () => {
    const expiredAt = new Date(setup.clock.now() - 61_000).toISOString().replace('Z', '000Z');
    setup.api.leases.putSlot(NS, 0, {
      holderIdentity: 'crashed',
      leaseDurationSeconds: 60,
      acquireTime: expiredAt,
      renewTime: expiredAt,
      leaseTransitions: 4,
    });
    const budget = budgetFor('node-a', 1);
    await budget.acquire();
    const lease = setup.api.leases.store.get(`${NS}/kata-deploy-restart-0`)!;
    expect(lease.spec).toMatchObject({ holderIdentity: 'node-a', leaseTransitions: 5 });
    expect(setup.clock.sleeps).toEqual([]);
  });

  it('two nodes update one expired Lease: the stale resourceVersion loses and watches', async () => {
    const old = new Date(Date.now() - 120_000).toISOString();
    setup.api.leases.putSlot(NS, 0, { holderIdentity: 'crashed', leaseDurationSeconds: 60, renewTime: old });
    // node-b's update lands between node-a's read and node-a's write.
    setup.api.faults.push({
      method: 'PUT',
      path: '/leases/',
      times: 1,
      action: {
        before: (api) => {
          api.leases.putSlot(NS, 0, {
            holderIdentity: 'node-b',
            leaseDurationSeconds: 60,
            renewTime: new Date().toISOString(),
          });
        },
      },
    });
    const budget = budgetFor('node-a', 1, { clock: systemClock });
    const acquired = budget.acquire();
    await vi.waitFor(() => expect(setup.api.leases.watches.open).toBe(1));
    const puts = setup.api.requests.filter((r) => r.method === 'PUT' && r.path.includes('/leases/'));
    expect(puts).toHaveLength(1);
    expect(budget.held()).toBeUndefined();
    const lease = setup.api.leases.store.get(`${NS}/kata-deploy-restart-0`)!;
    setup.api.leases.route('DELETE', NS, 'kata-deploy-restart-0', new URL(setup.api.url), {
      preconditions: { resourceVersion: lease.metadata.resourceVersion },
    });
    await acquired;
    expect(setup.api.leases.history.map((change) => change.holder)).toEqual(['crashed', 'node-b', undefined, 'node-a']);
    await budget.release();
  });

  it('two nodes racing for the last slot at once: exactly one holds it', async () => {
    const a = budgetFor('node-a', 1, { clock: systemClock, pollMs: 20 });
    const b = budgetFor('node-b', 1, { clock: systemClock, pollMs: 20 });
    const first = await Promise.race([a.acquire().then(() => a), b.acquire().then(() => b)]);
    const second = first === a ? b : a;
    expect(second.held()).toBeUndefined();
    expect(setup.api.leases.peakHolders).toBe(1);
    await first.release();
    await vi.waitFor(() => expect(second.held()).toBe(0), { timeout: 10_000 });
    await second.release();
    expect(setup.api.leases.peakHolders).toBe(1);
  });

  it('a pod restarted while it held a slot gets the same slot back without waiting', async () => {
    await budgetFor('node-a', 1).acquire();
    const again = budgetFor('node-a', 1);
    await again.acquire();
    expect(again.held()).toBe(0);
    expect(setup.clock.sleeps).toEqual([]);
    expect(setup.api.leases.store.get(`${NS}/kata-deploy-restart-0`)!.spec.holderIdentity).toBe('node-a');
  });

  it('a pod restarted while it held a slot other than its home takes its home and gives the old one back', async () => {
    const home = homeSlot('node-a', 2);
    const now = new Date(setup.clock.now()).toISOString().replace('Z', '000Z');
    setup.api.leases.putSlot(NS, 1 - home, {
      holderIdentity: 'node-a',
      leaseDurationSeconds: 60,
      acquireTime: now,
      renewTime: now,
    });
    const budget = budgetFor('node-a', 2);
    await budget.acquire();
    expect(budget.held()).toBe(home);
    await vi.waitFor(() => expect(setup.api.leases.store.has(`${NS}/kata-deploy-restart-${1 - home}`)).toBe(false));
    expect(setup.api.leases.holders(NS)).toEqual(['node-a']);
    await budget.release();
    expect(setup.api.leases.store.size).toBe(0);
  });

  it('a take whose Lease its holder deleted meanwhile counts as lost: it creates the slot instead', async () => {
    const old = new Date(Date.now() - 120_000).toISOString();
    setup.api.leases.putSlot(NS, 0, { holderIdentity: 'slow', leaseDurationSeconds: 60, renewTime: old });
    // The slow holder's release lands between node-a's LIST and node-a's update: the update gets 404.
    setup.api.faults.push({
      method: 'PUT',
      path: '/leases/',
      times: 1,
      action: {
        before: (api) => {
          const lease = api.leases.store.get(`${NS}/kata-deploy-restart-0`)!;
          api.leases.route('DELETE', NS, 'kata-deploy-restart-0', new URL(api.url), {
            preconditions: { resourceVersion: lease.metadata.resourceVersion },
          });
        },
      },
    });
    const budget = budgetFor('node-a', 1, { clock: systemClock });
    await budget.acquire();
    expect(budget.held()).toBe(0);
    const statuses = setup.api.requests.filter((r) => r.path.includes('/leases') && r.method !== 'GET');
    expect(statuses.map((r) => `${r.method} ${r.status}`)).toEqual(['POST 409', 'PUT 404', 'POST 201']);
    await budget.release();
  });

  it('renews the slot while it is held', async () => {
    const budget = budgetFor('node-a', 1, { renewEveryMs: 10 });
    await budget.acquire();
    const renewTime = () => setup.api.leases.store.get(`${NS}/kata-deploy-restart-0`)!.spec.renewTime;
    const first = renewTime();
    await setup.clock.sleep(5_000);
    await vi.waitFor(() => expect(renewTime()).not.toBe(first), { timeout: 10_000 });
    await budget.release();
    expect(setup.api.leases.store.size).toBe(0);
  });

  it('an unreachable API server: a bounded wait, then a kube-api error saying nothing was restarted', async () => {
    setup.api.faults.push({ path: '/leases', times: 100_000, action: { drop: true } });
    const error = await budgetFor('node-a', 1)
      .acquire()
      .catch((thrown: unknown) => thrown);
    expect(error).toMatchObject({ code: 'kube-api' });
    const message = (error as Error).message;
    expect(message).toMatch(
      /^could not take a restart slot \(Lease kata-deploy-restart-<k> in namespace kata-deploy\): /,
    );
    expect(message).toMatch(/create Lease .* still failing after \d+ attempts .*; the runtime was not restarted$/);
    expect(setup.clock.sleeps.reduce((sum, ms) => sum + ms, 0)).toBeLessThanOrEqual(60_000);
  });

  it('RBAC without the lease verbs names the verb and resource to grant', async () => {
    setup.api.forbidden.add('create leases');
    const error = await budgetFor('node-a', 1)
      .acquire()
      .catch((thrown: unknown) => thrown);
    expect((error as Error).message).toContain('RBAC forbids verb "create" on resource "leases.coordination.k8s.io"');
  });
});
