import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { systemClock } from '../../src/host/clock.js';
import { silentLogger } from '../../src/host/logger.js';
import { RACE_SPREAD_MS, restartBudget, type RestartBudgetOptions } from '../../src/kube/restart-budget.js';
import { homeSlot, takerRank } from '../../src/kube/restart-slots.js';
import { startFakeKube, type FakeKubeSetup } from '../helpers/fake-kube-setup.js';
import { manualClock } from '../helpers/manual-clock.js';
import { capturedLog } from '../helpers/captured-log.js';

const NS = 'kata-deploy';
const BASE = `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases`;

describe('waiting for a restart slot over a watch, against the fake API server', () => {
  let setup: FakeKubeSetup;
  beforeEach(async () => {
    setup = await startFakeKube('node-a');
  });
  afterEach(async () => {
    await setup.cleanup();
  });

  const budgetFor = (node: string, options: Partial<RestartBudgetOptions> = {}) =>
    restartBudget(setup.access.leasesIn(NS), node, 1, {
      clock: systemClock,
      log: silentLogger(),
      random: () => 0,
      pollMs: 20,
      ...options,
    });
  /** The waiters' reads of the slots since `from`: LIST and WATCH, in order. */
  const reads = (from = 0) =>
    setup.api.requests
      .slice(from)
      .filter((request) => request.method === 'GET' && request.path === BASE)
      .map((request) => request.path);
  const watchesOpened = () => setup.api.leases.watches.opened;

  it('the fake serves the watch wire format: chunked JSON lines, replay after a resourceVersion', async () => {
    setup.api.leases.put(NS, { metadata: { name: 'kata-deploy-restart-0' }, spec: { holderIdentity: 'x' } });
    const from = setup.api.leases.store.get(`${NS}/kata-deploy-restart-0`)!.metadata.resourceVersion;
    setup.api.leases.put(NS, { metadata: { name: 'kata-deploy-restart-0' }, spec: { holderIdentity: 'y' } });
    setup.api.leases.route('DELETE', NS, 'kata-deploy-restart-0', new URL(setup.api.url), undefined as never);
    const lines: string[] = [];
    const { request } = await import('node:https');
    const raw = await new Promise<string>((resolve, reject) => {
      const req = request(
        `${setup.api.url}${BASE}?watch=1&resourceVersion=${from}&timeoutSeconds=1&allowWatchBookmarks=true`,
        { headers: { authorization: 'Bearer fake-token' }, ca: setup.api.caPem() },
        (res) => {
          expect(res.headers['transfer-encoding']).toBe('chunked');
          let text = '';
          res.on('data', (chunk) => {
            text += chunk;
          });
          res.on('end', () => resolve(text));
        },
      );
      req.on('error', reject);
      req.end();
    });
    for (const line of raw.trim().split('\n')) lines.push(JSON.parse(line).type);
    expect(lines).toEqual(['MODIFIED', 'DELETED', 'BOOKMARK']);
  });

  it('a broken watch falls back to a LIST after the poll delay, watches again; a release wakes it', async () => {
    const holder = budgetFor('node-b');
    await holder.acquire();
    const { log, messages: lines } = capturedLog();
    const waiter = budgetFor('node-a', { log });
    const acquired = waiter.acquire();
    await vi.waitFor(() => expect(setup.api.leases.watches.open).toBe(1));
    const before = setup.api.requests.length;
    setup.api.leases.watches.breakAll();
    await vi.waitFor(() => expect(watchesOpened()).toBe(2));
    expect(reads(before)).toEqual([BASE, BASE]);
    expect(lines).toContain(
      'watching the restart slots failed (it needs verb "watch" on leases.coordination.k8s.io); reading them ' +
        'again after a delay',
    );
    await holder.release();
    await acquired;
    expect(waiter.held()).toBe(0);
    await waiter.release();
  });

  it('the API server goes away while it waits: a bounded wait, then a kube-api error and no slot', async () => {
    const holder = budgetFor('node-b');
    await holder.acquire();
    const waiter = budgetFor('node-a');
    const acquired = waiter.acquire().catch((thrown: unknown) => thrown);
    await vi.waitFor(() => expect(setup.api.leases.watches.open).toBe(1));
    setup.api.faults.push({ path: '/leases', times: 100_000, action: { drop: true } });
    setup.api.leases.watches.breakAll();
    const error = await acquired;
    expect(error).toMatchObject({ code: 'kube-api' });
    expect((error as Error).message).toMatch(/list Lease .* still failing .*; the runtime was not restarted$/);
    expect(waiter.held()).toBeUndefined();
    // The retries' waits went through the API client's clock, and stayed within its 60 s deadline.
    expect(setup.clock.sleeps.reduce((sum, ms) => sum + ms, 0)).toBeLessThanOrEqual(60_000);
    expect(setup.api.leases.holders(NS)).toEqual(['node-b']);
  });

  it('a watch the server closed resumes from the last version without a LIST', async () => {
    const holder = budgetFor('node-b');
    await holder.acquire();
    const waiter = budgetFor('node-a');
    const acquired = waiter.acquire();
    await vi.waitFor(() => expect(watchesOpened()).toBe(1));
    const before = setup.api.requests.length;
    setup.api.leases.watches.closeAll();
    await vi.waitFor(() => expect(watchesOpened()).toBe(2));
    expect(reads(before)).toEqual([BASE]);
    await holder.release();
    await acquired;
    await waiter.release();
  });

  it('410 Gone on resuming a watch: it lists again, then watches from the new version', async () => {
    const holder = budgetFor('node-b');
    await holder.acquire();
    const waiter = budgetFor('node-a');
    const acquired = waiter.acquire();
    await vi.waitFor(() => expect(watchesOpened()).toBe(1));
    const before = setup.api.requests.length;
    // A change, then compaction: the version the waiter resumes from is no longer in the window.
    setup.api.leases.put(NS, { metadata: { name: 'unrelated' }, spec: {} });
    setup.api.leases.watches.compact();
    setup.api.leases.watches.closeAll();
    await vi.waitFor(() => expect(watchesOpened()).toBe(3));
    expect(reads(before)).toEqual([BASE, BASE, BASE]);
    await holder.release();
    await acquired;
    expect(waiter.held()).toBe(0);
    await waiter.release();
  });

  it('RBAC without "watch": the waiter polls with LISTs instead and still gets the slot', async () => {
    setup.api.forbidden.add('watch leases');
    const holder = budgetFor('node-b');
    await holder.acquire();
    const waiter = budgetFor('node-a');
    const acquired = waiter.acquire();
    await vi.waitFor(() => expect(reads().length).toBeGreaterThan(6));
    expect(watchesOpened()).toBe(0);
    await holder.release();
    await acquired;
    expect(waiter.held()).toBe(0);
    await waiter.release();
  });

  it('a node that lost a create on a slot creates it once the winner has deleted it again', async () => {
    // node-b creates the slot just before node-a's create (its first guess: no read).
    setup.api.faults.push({
      method: 'POST',
      path: '/leases',
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
    const waiter = budgetFor('node-a');
    const acquired = waiter.acquire();
    await vi.waitFor(() => expect(setup.api.leases.watches.open).toBe(1));
    // Create lost, LIST (node-b holds it: budget 1 has no other slot), WATCH from that LIST's version.
    expect(reads()).toEqual([BASE, BASE]);
    expect(setup.api.requests.filter((r) => r.method === 'POST').map((r) => r.status)).toEqual([409]);
    const lease = setup.api.leases.store.get(`${NS}/kata-deploy-restart-0`)!;
    setup.api.leases.route('DELETE', NS, 'kata-deploy-restart-0', new URL(setup.api.url), {
      preconditions: { resourceVersion: lease.metadata.resourceVersion },
    });
    await acquired;
    expect(waiter.held()).toBe(0);
    await waiter.release();
  });

  it('a holder that crashed while others watch: its claim lapses and a watcher takes it over', async () => {
    const clock = manualClock(Date.now());
    const crashed = budgetFor('crashed', { clock, renewEveryMs: 3_600_000 });
    await crashed.acquire();
    const waiter = budgetFor('node-a', { clock });
    const acquired = waiter.acquire();
    await vi.waitFor(() => expect(clock.pending()).toEqual([60_001]));
    clock.advance(60_001);
    // Its moment within the 2 s spread: its place on the ring after the crashed holder.
    const moment = Math.floor(takerRank('node-a', 'crashed') * RACE_SPREAD_MS);
    await vi.waitFor(() => expect(clock.pending()).toEqual([moment]));
    clock.advance(moment);
    await acquired;
    const lease = setup.api.leases.store.get(`${NS}/kata-deploy-restart-0`)!;
    expect(lease.spec).toMatchObject({ holderIdentity: 'node-a', leaseTransitions: 1 });
    await waiter.release();
  });

  it('of the waiters woken by one release only those whose moment comes first write; losers watch on', async () => {
    const clock = manualClock(Date.now());
    const holder = budgetFor('holder', { clock });
    await holder.acquire();
    // Waiter i tries at i × 100 ms of a 2 s spread; waiters 0 and 1 share a moment, so two race.
    const moments = [0, 0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6];
    const waiters = moments.map((moment, index) =>
      budgetFor(`waiter-${index}`, { clock, rankAfter: () => moment, raceSpreadMs: 2_000 }),
    );
    const acquiring = waiters.map((waiter) => waiter.acquire());
    await vi.waitFor(() => expect(setup.api.leases.watches.open).toBe(waiters.length));
    const before = setup.api.requests.length;
    await holder.release();
    await vi.waitFor(() => expect(clock.pending().filter((ms) => ms <= 2_000)).toHaveLength(waiters.length));
    clock.advance(0);
    await vi.waitFor(() => expect(setup.api.leases.holders(NS)).toHaveLength(1));
    await vi.waitFor(() => expect(setup.api.leases.watches.open).toBe(waiters.length - 1));
    // The others saw the winner's write before their moment came: they dropped it without writing.
    await vi.waitFor(() => expect(clock.pending().filter((ms) => ms <= 2_000)).toHaveLength(0));
    const writes = setup.api.requests.slice(before).filter((r) => r.method === 'POST' || r.method === 'PUT');
    expect(writes).toHaveLength(2);
    expect(setup.api.leases.peakHolders).toBe(1);
    const winner = waiters.findIndex((waiter) => waiter.held() === 0);
    expect([0, 1]).toContain(winner);
    await waiters[winner]!.release();
    await acquiring[winner];
    await vi.waitFor(() => expect(clock.pending().filter((ms) => ms <= 2_000)).toHaveLength(waiters.length - 1));
    clock.advance(0);
    await vi.waitFor(() => expect(setup.api.leases.holders(NS)).toHaveLength(1));
    const second = waiters.findIndex((waiter) => waiter.held() === 0);
    expect(second).toBe(1 - winner);
    for (const waiter of waiters) await waiter.release();
  });

  it('a waiter watches only its home slot: another slot coming free does not wake it, its own does', async () => {
    const clock = manualClock(Date.now());
    const two = (node: string) =>
      restartBudget(setup.access.leasesIn(NS), node, 2, {
        clock,
        log: silentLogger(),
        random: () => 0,
      });
    const [a, b] = [two('node-b'), two('node-d')];
    await a.acquire();
    await b.acquire();
    const bySlot = new Map([
      [a.held(), a],
      [b.held(), b],
    ]);
    expect([...bySlot.keys()].sort()).toEqual([0, 1]);
    const home = homeSlot('node-a', 2);
    const waiter = two('node-a');
    const acquired = waiter.acquire();
    await vi.waitFor(() => expect(setup.api.leases.watches.open).toBe(1));
    const watch = setup.api.requests.find((r) => r.query.includes('watch=true'))!;
    expect(new URLSearchParams(watch.query).get('fieldSelector')).toBe(`metadata.name=kata-deploy-restart-${home}`);
    const writes = () => setup.api.requests.filter((r) => r.method === 'POST' || r.method === 'PUT').length;
    const before = writes();
    await bySlot.get(1 - home)!.release();
    await new Promise((resolve) => setTimeout(resolve, 200));
    // Still only the timer for its home holder's claim to lapse: no moment to write was set.
    expect(clock.pending()).toEqual([60_001]);
    expect(writes()).toBe(before);
    await bySlot.get(home)!.release();
    const moment = Math.floor(takerRank('node-a', bySlot.get(home) === a ? 'node-b' : 'node-d') * RACE_SPREAD_MS);
    await vi.waitFor(() => expect(clock.pending()).toEqual([moment]));
    clock.advance(moment);
    await acquired;
    expect(waiter.held()).toBe(home);
    await waiter.release();
  });
});
