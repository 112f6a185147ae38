// The fleet benchmark's discrete-event clock is an instrument: these check that with it every request
// through the real client costs exactly the configured latency in simulated time, that a watch event
// arrives one latency after the write, and that waiting costs no wall time.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type EventClock, eventClock } from '../../scripts/bench/support/event-clock.mjs';
import { startFakeKube, type FakeKubeSetup } from '../helpers/fake-kube-setup.js';

const NS = 'kata-deploy';
const LATENCY_MS = 7;

describe('the fleet benchmark’s discrete-event clock over the fake API server', () => {
  let setup: FakeKubeSetup;
  let clock: EventClock;
  beforeEach(async () => {
    setup = await startFakeKube('node-a');
    const api = setup.api;
    api.addNode('node-a');
    clock = eventClock({
      activity: () => api.requests.length + api.leases.watches.activity,
      parked: () => api.parked,
    });
    api.latency = () => clock.sleep(LATENCY_MS);
    api.leases.watches.deliveryDelay = api.latency;
  });
  afterEach(async () => {
    clock.stop();
    await setup.cleanup();
  });

  it('each round trip through the real client costs the latency, however long it takes for real', async () => {
    const start = clock.now();
    await setup.access.kube.getNode('node-a');
    expect(clock.now() - start).toBe(LATENCY_MS);
    await Promise.all([setup.access.kube.getNode('node-a'), setup.access.kube.getNode('node-a')]);
    expect(clock.now() - start).toBe(2 * LATENCY_MS);
    await setup.access.kube.getNode('node-a');
    expect(clock.now() - start).toBe(3 * LATENCY_MS);
  });

  it('an hour of waiting passes in a jump, in order with the sleeps around it', async () => {
    const start = clock.now();
    const wallStart = performance.now();
    const order: number[] = [];
    await Promise.all([3_600_000, 5, 60_000].map((ms) => clock.sleep(ms).then(() => order.push(clock.now() - start))));
    expect(order).toEqual([5, 60_000, 3_600_000]);
    expect(performance.now() - wallStart).toBeLessThan(5_000);
  });

  it('a watch event reaches the watcher one latency after the write that caused it', async () => {
    const leases = setup.access.leasesIn(NS);
    const listed = await leases.listSlots();
    let seenAt: number | undefined;
    const watch = leases.watchSlots(listed.resourceVersion, (event) => {
      if (event.type === 'ADDED') seenAt ??= clock.now();
    });
    await clock.sleep(100);
    const sentAt = clock.now();
    await leases.create({
      metadata: { name: 'kata-deploy-restart-0', labels: { 'app.kubernetes.io/managed-by': 'kata-deploy' } },
      spec: { holderIdentity: 'node-a' },
    });
    expect(clock.now() - sentAt).toBe(LATENCY_MS);
    await clock.sleep(50);
    watch.stop();
    expect(seenAt).toBe(sentAt + LATENCY_MS);
  });
});
