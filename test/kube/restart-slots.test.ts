import { describe, expect, it } from 'vitest';
import {
  nextRacePace,
  type RacePace,
  chooseHomeSlot,
  chooseSlot,
  homeSlot,
  takerRank,
  defaultRestartBudget,
  pollDelay,
  slotExpired,
  type SlotChoice,
  type SlotLease,
} from '../../src/kube/restart-slots.js';

const NOW = 1_800_000_000_000;
const lease = (slot: number, holder: string | undefined, renewedAgoMs: number | undefined): SlotLease => ({
  slot,
  resourceVersion: `rv-${slot}`,
  holder,
  lastRenewMs: renewedAgoMs === undefined ? undefined : NOW - renewedAgoMs,
  durationMs: 60_000,
});

describe('slotExpired', () => {
  const cases: [string, SlotLease, boolean][] = [
    ['renewed 10 s ago with 60 s asked for: live', lease(0, 'a', 10_000), false],
    ['renewed exactly 60 s ago: still live', lease(0, 'a', 60_000), false],
    ['renewed 60.001 s ago: lapsed', lease(0, 'a', 60_001), true],
    ['never renewed and no acquire time: lapsed', lease(0, 'a', undefined), true],
    ['renewed in the future (a holder whose clock runs ahead): live', lease(0, 'a', -5_000), false],
  ];
  for (const [name, input, expired] of cases) it(name, () => expect(slotExpired(input, NOW)).toBe(expired));
});

describe('chooseSlot', () => {
  const cases: [string, SlotLease[], number, number, SlotChoice][] = [
    ['no Leases at all: create, spread by pick', [], 3, 0.7, { kind: 'create', slot: 2 }],
    ['no Leases, pick 0: the first slot', [], 3, 0, { kind: 'create', slot: 0 }],
    [
      'slots 0 and 2 taken: create the missing 1',
      [lease(0, 'a', 1), lease(2, 'b', 1)],
      3,
      0.99,
      { kind: 'create', slot: 1 },
    ],
    [
      'our own Lease (the pod restarted mid-restart): held, even when expired',
      [lease(0, 'a', 1), lease(1, 'me', 999_999)],
      2,
      0,
      { kind: 'held', slot: 1, resourceVersion: 'rv-1' },
    ],
    [
      'all held but one lapsed: take it over from the crashed holder',
      [lease(0, 'a', 1_000), lease(1, 'dead', 61_000)],
      2,
      0,
      { kind: 'take', slot: 1, resourceVersion: 'rv-1', previousHolder: 'dead' },
    ],
    [
      'a released Lease (holder cleared): take it',
      [lease(0, '', 1_000)],
      1,
      0,
      { kind: 'take', slot: 0, resourceVersion: 'rv-0', previousHolder: '' },
    ],
    [
      'all held and live: wait, naming the holders',
      [lease(1, 'b', 5), lease(0, 'a', 5)],
      2,
      0,
      { kind: 'wait', holders: ['a', 'b'] },
    ],
    [
      'a Lease beyond the budget (left from a larger one) is neither a slot nor a holder',
      [lease(0, 'a', 5), lease(5, 'x', 5)],
      1,
      0,
      { kind: 'wait', holders: ['a'] },
    ],
    [
      'our Lease beyond the budget does not count as held',
      [lease(0, 'a', 5), lease(3, 'me', 5)],
      1,
      0,
      { kind: 'wait', holders: ['a'] },
    ],
  ];
  for (const [name, leases, budget, pick, expected] of cases)
    it(name, () => expect(chooseSlot(leases, budget, 'me', NOW, pick)).toEqual(expected));

  it('the same Leases become takeable once the clock passes the holder’s duration', () => {
    const leases = [lease(0, 'a', 0)];
    expect(chooseSlot(leases, 1, 'me', NOW + 60_000, 0).kind).toBe('wait');
    expect(chooseSlot(leases, 1, 'me', NOW + 60_001, 0).kind).toBe('take');
  });
});

describe('chooseSlot with a home slot', () => {
  it('prefers the home slot when it is missing, released or expired', () => {
    expect(chooseSlot([], 3, 'me', NOW, 0, 2)).toEqual({ kind: 'create', slot: 2 });
    expect(chooseSlot([lease(2, '', 5)], 3, 'me', NOW, 0, 2)).toMatchObject({ kind: 'take', slot: 2 });
    expect(chooseSlot([lease(2, 'dead', 61_000)], 3, 'me', NOW, 0.9, 2)).toMatchObject({ kind: 'take', slot: 2 });
  });

  it('a held home slot sends it to another free one, so a small cluster still uses its whole budget', () => {
    expect(chooseSlot([lease(2, 'a', 5)], 3, 'me', NOW, 0.9, 2)).toEqual({ kind: 'create', slot: 1 });
    const allHeldButZero = [lease(0, '', 5), lease(1, 'b', 5), lease(2, 'a', 5)];
    expect(chooseSlot(allHeldButZero, 3, 'me', NOW, 0.9, 2)).toMatchObject({ kind: 'take', slot: 0 });
    expect(chooseSlot([lease(0, 'c', 5), lease(1, 'b', 5), lease(2, 'a', 5)], 3, 'me', NOW, 0, 2).kind).toBe('wait');
  });

  it('the home slot alone: create, held, take or wait for its holder', () => {
    expect(chooseHomeSlot(undefined, 4, 'me', NOW)).toEqual({ kind: 'create', slot: 4 });
    expect(chooseHomeSlot(lease(4, 'me', 5), 4, 'me', NOW)).toEqual({ kind: 'held', slot: 4, resourceVersion: 'rv-4' });
    expect(chooseHomeSlot(lease(4, 'dead', 61_000), 4, 'me', NOW)).toMatchObject({ kind: 'take', slot: 4 });
    expect(chooseHomeSlot(lease(4, 'a', 5), 4, 'me', NOW)).toEqual({ kind: 'wait', holders: ['a'] });
  });
});

describe('home slots and the order of takers', () => {
  it.each([
    ['worker-<i>', (i: number) => `worker-${i}`],
    ['ip-10-0-<a>-<b>.ec2.internal', (i: number) => `ip-10-0-${i >> 8}-${i & 255}.ec2.internal`],
  ])('1,000 node names %s spread over 10 home slots within ±15 %% of 100 each', (_name, nameOf) => {
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < 1000; i += 1) counts[homeSlot(nameOf(i), 10)]! += 1;
    expect(Math.min(...counts)).toBeGreaterThanOrEqual(84);
    expect(Math.max(...counts)).toBeLessThanOrEqual(115);
  });

  it('a budget of one (or less) has one home for all; the home is stable and inside the budget', () => {
    expect(homeSlot('worker-7', 1)).toBe(0);
    expect(homeSlot('worker-7', 0)).toBe(0);
    expect(homeSlot('worker-7', 7)).toBe(homeSlot('worker-7', 7));
    for (let i = 0; i < 100; i += 1) expect(homeSlot(`n${i}`, 3)).toBeLessThan(3);
  });

  it('ranks lie in [0, 1), and a slot passed to the lowest rank each time goes round every waiter once', () => {
    const waiting = new Set(Array.from({ length: 20 }, (_, i) => `worker-${i}`));
    let holder = 'worker-0';
    waiting.delete(holder);
    const served: string[] = [];
    for (let handOver = 0; handOver < 19; handOver += 1) {
      const ranks = [...waiting].map((name) => [takerRank(name, holder), name] as const);
      for (const [rank] of ranks) expect(rank >= 0 && rank < 1).toBe(true);
      const next = ranks.sort((a, b) => a[0] - b[0])[0]![1];
      // The holder goes back to waiting at once: a ring still reaches everyone before it again.
      waiting.delete(next);
      waiting.add(holder);
      served.push(next);
      holder = next;
    }
    expect(new Set(served).size).toBe(19);
  });
});

describe('budget defaults and pacing', () => {
  it('k3s and rke2 servers restart one at a time; every other flavour ten at a time', () => {
    expect(defaultRestartBudget('k3s')).toBe(1);
    expect(defaultRestartBudget('rke2-server')).toBe(1);
    for (const flavour of ['containerd', 'k3s-agent', 'rke2-agent', 'crio', 'microk8s', 'k0s-worker'] as const)
      expect(defaultRestartBudget(flavour), flavour).toBe(10);
  });

  it('poll delays spread ±50 % around the base', () => {
    expect([0, 0.5, 0.999].map((jitter) => pollDelay(0, 1000, 30_000, jitter))).toEqual([500, 1000, 1499]);
  });

  it('poll delays grow by half per fruitless read, up to the maximum', () => {
    expect([0, 1, 2, 10, 50].map((waits) => pollDelay(waits, 1000, 6000, 0.5))).toEqual([1000, 1500, 2250, 6000, 6000]);
  });
});

describe('nextRacePace: a spread that makes the nearest waiter write after two propagation delays', () => {
  it('from the first hand-over seen: twice the propagation over the ring spacing', () => {
    expect(nextRacePace({ spreadMs: 2_000 }, { propagationMs: 7, spacing: 0.01 }, 20, 120_000)).toEqual({
      spreadMs: 1_400,
      spacing: 0.01,
      propagationMs: 7,
    });
  });

  it('later ones move running means by a quarter, so one wide gap on the ring does not swing it', () => {
    const pace = { spreadMs: 1_400, spacing: 0.01, propagationMs: 7 };
    expect(nextRacePace(pace, { propagationMs: 7, spacing: 0.05 }, 20, 120_000)).toEqual({
      spreadMs: 700,
      spacing: 0.02,
      propagationMs: 7,
    });
  });

  it('as a queue drains the spacings grow and the spread falls with them (towards 2 × 7 / 0.5 = 28 ms)', () => {
    let pace: RacePace = { spreadMs: 2_000 };
    const spreads: number[] = [];
    for (const spacing of [0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 0.5, 0.5, 0.5, 0.5]) {
      pace = nextRacePace(pace, { propagationMs: 7, spacing }, 20, 120_000);
      spreads.push(pace.spreadMs);
    }
    for (let i = 1; i < spreads.length; i += 1) expect(spreads[i]).toBeLessThanOrEqual(spreads[i - 1]!);
    expect(spreads.at(-1)).toBeLessThanOrEqual(40);
  });

  it('keeps within its bounds, and ignores a hand-over it cannot read', () => {
    expect(nextRacePace({ spreadMs: 500 }, { propagationMs: 50, spacing: 0.0001 }, 20, 120_000).spreadMs).toBe(120_000);
    expect(nextRacePace({ spreadMs: 500 }, { propagationMs: 0, spacing: 0.9 }, 20, 120_000).spreadMs).toBe(20);
    const pace = { spreadMs: 500, spacing: 0.1, propagationMs: 5 };
    expect(nextRacePace(pace, { propagationMs: 5, spacing: 0 }, 20, 120_000)).toBe(pace);
  });

  it('a winner whose clock runs ahead or far behind ours moves the mean by at most 0 … 1 s', () => {
    const pace = { spreadMs: 500, spacing: 0.1, propagationMs: 8 };
    expect(nextRacePace(pace, { propagationMs: -300, spacing: 0.1 }, 20, 120_000).propagationMs).toBe(6);
    expect(nextRacePace(pace, { propagationMs: 30_000, spacing: 0.1 }, 20, 120_000).propagationMs).toBe(256);
  });
});
