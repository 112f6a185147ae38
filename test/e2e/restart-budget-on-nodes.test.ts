import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KATA_RUNTIME_LABEL } from '../../src/kube/labels.js';
import type { LeaseChange } from '../helpers/fake-leases.js';
import { startFakeKube, type FakeKubeSetup } from '../helpers/fake-kube-setup.js';
import { containerdCases, RUNC_ONLY } from '../helpers/throwaway-node/matrix.js';
import { startThrowawayNode, type ThrowawayNode } from '../helpers/throwaway-node/node.mjs';
import { samplePayload } from '../helpers/sample-payload.js';
import { logOf, nodeCli } from './node-cli.js';

const NODES = 4;
const BUDGET = 2;
const first = containerdCases()[0]!;
const names = Array.from({ length: NODES }, (_, i) => `budget-node-${i}`);

/** When each node held a slot, by the API server's clock: [taken, given back). */
function holdIntervals(history: readonly LeaseChange[], node: string): [number, number][] {
  const intervals: [number, number][] = [];
  const open = new Map<string, number>();
  for (const change of history) {
    const since = open.get(change.name);
    if (since !== undefined && change.holder !== node) {
      intervals.push([since, change.atMs]);
      open.delete(change.name);
    }
    if (change.holder === node && !open.has(change.name)) open.set(change.name, change.atMs);
  }
  for (const since of open.values()) intervals.push([since, Number.POSITIVE_INFINITY]);
  return intervals;
}

/** Every start of the node's containerd (the throwaway unit appends `date +%s%N` on each), in ms. */
function containerdStartTimes(node: ThrowawayNode): number[] {
  return readFileSync(path.join(node.stateDir, 'starts'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((ns) => Number(BigInt(ns) / 1_000_000n));
}

describe.skipIf(first.missing !== undefined)(
  `${NODES} real nodes installing at once with --restart-budget ${BUDGET} against one API server`,
  () => {
    let kube: FakeKubeSetup;
    let nodes: ThrowawayNode[] = [];
    let options: { payload: string; containerd: string };
    const run = (command: string, node: ThrowawayNode, index: number) =>
      nodeCli(node, options, command, [
        '--kubeconfig',
        kube.kubeconfig,
        '--node-name',
        names[index]!,
        '--restart-budget',
        String(BUDGET),
      ]);

    beforeAll(async () => {
      options = { payload: samplePayload(), containerd: first.binary! };
      kube = await startFakeKube(names[0]);
      for (const name of names) kube.api.addNode(name);
      nodes = await Promise.all(names.map(() => startThrowawayNode({ containerd: first.binary!, config: RUNC_ONLY })));
    });
    afterAll(async () => {
      await Promise.all(nodes.map((node) => node.stop()));
      await kube?.cleanup();
    });

    it('all install; never more than two hold a slot; each restart happens while its node holds one', async () => {
      // Hold the first two releases until a third node has been turned away and watches its home slot,
      // so the budget is exercised whatever the timing of the four installs.
      const someoneWaits = async (api: FakeKubeSetup['api']) => {
        const until = Date.now() + 30_000;
        while (api.leases.watches.open === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      };
      kube.api.faults.push({ method: 'DELETE', path: '/leases/', times: BUDGET, action: { before: someoneWaits } });
      const runs = await Promise.all(nodes.map((node, index) => run('install', node, index)));
      for (const result of runs) expect(result.exitCode, logOf(result)).toBe(0);
      kube.api.faults.length = 0;

      expect(kube.api.leases.peakHolders).toBe(BUDGET);
      expect(runs.filter((result) => result.stderr.includes('waiting to restart the runtime')).length).toBeGreaterThan(
        0,
      );
      expect(kube.api.leases.store.size, 'every slot given back').toBe(0);
      for (const [index, node] of nodes.entries()) {
        expect(kube.api.labels(names[index]!)[KATA_RUNTIME_LABEL]).toBe('true');
        const starts = containerdStartTimes(node);
        expect(starts, 'one start at boot, one for the install').toHaveLength(2);
        const held = holdIntervals(kube.api.leases.history, names[index]!);
        expect(held).toHaveLength(1);
        expect(starts[1]!).toBeGreaterThan(held[0]![0]);
        expect(starts[1]!).toBeLessThan(held[0]![1]);
      }
    }, 120_000);

    it('a converged node takes no slot', async () => {
      const before = kube.api.requests.length;
      const result = await run('install', nodes[0]!, 0);
      expect(result.exitCode, logOf(result)).toBe(0);
      expect(kube.api.requests.slice(before).filter((request) => request.path.includes('/leases'))).toEqual([]);
      expect(containerdStartTimes(nodes[0]!)).toHaveLength(2);
    }, 60_000);

    it('all uninstall at once under the same budget', async () => {
      const historyBefore = kube.api.leases.history.length;
      kube.api.leases.peakHolders = 0;
      const runs = await Promise.all(nodes.map((node, index) => run('uninstall', node, index)));
      for (const result of runs) expect(result.exitCode, logOf(result)).toBe(0);
      expect(kube.api.leases.peakHolders).toBeLessThanOrEqual(BUDGET);
      const history = kube.api.leases.history.slice(historyBefore);
      for (const [index, node] of nodes.entries()) {
        const starts = containerdStartTimes(node);
        expect(starts).toHaveLength(3);
        const held = holdIntervals(history, names[index]!);
        expect(held).toHaveLength(1);
        expect(starts[2]!).toBeGreaterThan(held[0]![0]);
        expect(starts[2]!).toBeLessThan(held[0]![1]);
      }
    }, 120_000);
  },
);
