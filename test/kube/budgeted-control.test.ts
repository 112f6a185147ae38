import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/host/logger.js';
import { restartBudget } from '../../src/kube/restart-budget.js';
import type { RuntimeControl } from '../../src/transaction/parts.js';
import { budgetedControl } from '../../src/wiring/budgeted-control.js';
import { startFakeKube, type FakeKubeSetup } from '../helpers/fake-kube-setup.js';

const NS = 'kata-deploy';

/** A runtime port that records what it was asked and who held the slot at that moment. */
function recordingControl(setup: FakeKubeSetup, restarts = true): RuntimeControl & { calls: string[] } {
  const calls: string[] = [];
  const holders = () => setup.api.leases.holders(NS).join(',') || 'nobody';
  return {
    calls,
    description: 'recorded runtime',
    baseHandlers: ['runc'],
    restarts,
    preflight: async () => {
      calls.push('preflight');
    },
    restart: async () => {
      calls.push(`restart while ${holders()} holds a slot`);
    },
    liveHandlers: async () => ['runc'],
    waitForHandlers: async () => ({ ready: true, elapsedMs: 1 }),
  };
}

describe('budgetedControl', () => {
  let setup: FakeKubeSetup;
  beforeEach(async () => {
    setup = await startFakeKube('node-a');
  });
  afterEach(async () => setup.cleanup());
  const budget = () =>
    restartBudget(setup.access.leasesIn(NS), 'node-a', 1, { clock: setup.clock, log: silentLogger(), random: () => 0 });

  it('takes the slot at preflight and restarts while holding it; a rollback restart reuses it', async () => {
    const inner = recordingControl(setup);
    const slots = budget();
    const control = budgetedControl(inner, slots);
    await control.preflight();
    await control.restart();
    await control.restart();
    expect(inner.calls).toEqual([
      'preflight',
      'restart while node-a holds a slot',
      'restart while node-a holds a slot',
    ]);
    expect(setup.api.requests.filter((r) => r.path.includes('/leases')).map((r) => r.method)).toEqual(['POST']);
    await slots.release();
    expect(setup.api.leases.holders(NS)).toEqual([]);
  });

  it('a runtime we never restart (k0s) takes no slot', async () => {
    const control = budgetedControl(recordingControl(setup, false), budget());
    await control.preflight();
    await control.restart();
    expect(setup.api.requests).toEqual([]);
  });

  it('API unreachable: preflight fails (kube-api) before any restart; a later restart waits no more', async () => {
    setup.api.faults.push({ path: '/leases', times: 100_000, action: { drop: true } });
    const inner = recordingControl(setup);
    const control = budgetedControl(inner, budget());
    await expect(control.preflight()).rejects.toMatchObject({ code: 'kube-api' });
    const requests = setup.api.requests.length;
    await expect(control.restart()).rejects.toMatchObject({ code: 'kube-api' });
    expect(setup.api.requests.length).toBe(requests);
    expect(inner.calls).toEqual(['preflight']);
  });
});
