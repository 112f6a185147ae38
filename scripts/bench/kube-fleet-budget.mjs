// Fleet rollout under the restart budget, run from the compiled dist/ (npm run bench builds it).
// 1. Measures one node's restart time: a throwaway node (real systemd user manager, real containerd),
//    restart over D-Bus until CRI serves a new handler, median of a few rounds.
// 2. Starts a fleet of simulated nodes at once (1,000; budget 1 on FLEET_SERIAL_NODES, default 100,
//    since its restarts run one after another), each running the real daemon (claim → install →
//    label → event) through the real @kubernetes/client-node against the local HTTPS fake API server;
//    the install takes a restart slot through the real budget (budgetedControl over restartBudget: the
//    Leases, create/list/update/delete, the waits with jitter) and "restarts" by sleeping.
// The restart and the slot waits' poll intervals are both shortened FLEET_SPEEDUP times (so a waiter
// makes as many reads per restart as it would at full length); the API runs at its real speed. The
// projected time puts the measured restart back on the critical path:
// wall + ⌈N / budget⌉ × restart × (1 − 1/FLEET_SPEEDUP).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FakeKubeApi } from '../../test/helpers/fake-kube-api.ts';
import { startThrowawayNode, throwawayNodeUnsupported } from '../../test/helpers/throwaway-node/node.mjs';

const root = path.join(import.meta.dirname, '..', '..');
const dist = (file) => path.join(root, 'dist', file);
const { createKube } = await import(dist('kube/create-kube.js'));
const { runDaemon } = await import(dist('modes/daemon.js'));
const { silentLogger } = await import(dist('host/logger.js'));
const { systemClock } = await import(dist('host/clock.js'));
const { restartBudget, POLL_MS, MAX_POLL_MS } = await import(dist('kube/restart-budget.js'));
const { budgetedControl } = await import(dist('wiring/budgeted-control.js'));
const { connectSystemd } = await import(dist('systemd/systemd-client.js'));
const { socketProbe, waitForHandlers } = await import(dist('containerd/readiness.js'));

const NODES = Number(process.env.FLEET_NODES ?? 1000);
const SERIAL_NODES = Number(process.env.FLEET_SERIAL_NODES ?? Math.min(NODES, 100));
const SPEEDUP = Number(process.env.FLEET_SPEEDUP ?? 2);
const BUDGETS = [1, 10, 0];

async function measureRestartMs() {
  if (process.env.BENCH_RESTART_MS !== undefined)
    return { ms: Number(process.env.BENCH_RESTART_MS), how: 'BENCH_RESTART_MS' };
  const missing = throwawayNodeUnsupported();
  if (missing !== undefined || !existsSync('/usr/bin/containerd')) {
    console.log(`restart time not measured (${missing ?? 'no /usr/bin/containerd'}): assuming 1000 ms`);
    return { ms: 1000, how: 'assumed' };
  }
  const version = /\s(\d+\.\d+\.\d+)/.exec(
    execFileSync('/usr/bin/containerd', ['--version'], { encoding: 'utf8' }),
  )?.[1];
  const config = (handler) =>
    `version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n` +
    `  runtime_type = "io.containerd.runc.v2"\n` +
    `[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.${handler}]\n` +
    `  runtime_type = "io.containerd.${handler}.v2"\n`;
  const node = await startThrowawayNode({ containerd: '/usr/bin/containerd', config: config('kata-qemu') });
  const systemd = await connectSystemd(node.systemdSocket, silentLogger());
  const rounds = [];
  try {
    for (let round = 0; round < 7; round += 1) {
      const handler = `kata-fleet${round}`;
      await node.writeFile('/etc/containerd/config.toml', config(handler));
      const started = performance.now();
      const outcome = await systemd.restartUnit('containerd.service', 20_000);
      const live = await waitForHandlers(
        socketProbe(node.containerdSocket),
        [handler],
        20_000,
        systemClock,
        silentLogger(),
        {
          intervalMs: 5,
        },
      );
      if (outcome.result !== 'done' || !live.ready)
        throw new Error(`restart round ${round} failed: ${outcome.result} ${live.reason ?? ''}`);
      rounds.push(performance.now() - started);
    }
  } finally {
    systemd.close();
    await node.stop();
  }
  rounds.sort((a, b) => a - b);
  return {
    ms: rounds[Math.floor(rounds.length / 2)],
    how: `containerd ${version}, median of ${rounds.length} restarts`,
  };
}

async function fleet(api, kubeconfig, dir, budget, restartMs, nodes) {
  const clock = systemClock;
  let restarting = 0;
  let peak = 0;
  const control = {
    description: 'simulated runtime',
    baseHandlers: ['runc'],
    restarts: true,
    preflight: async () => undefined,
    restart: async () => {
      restarting += 1;
      peak = Math.max(peak, restarting);
      await clock.sleep(restartMs / SPEEDUP);
      restarting -= 1;
    },
    liveHandlers: async () => ['runc'],
    waitForHandlers: async () => ({ ready: true, elapsedMs: 0 }),
  };
  const names = Array.from({ length: nodes }, (_, i) => `b${budget}-${i}`);
  for (const name of names) api.addNode(name);
  const before = { all: api.requests.length, slotWrites: api.leases.history.length };
  const leaseRequestsBefore = api.requests.filter((r) => r.path.includes('/leases')).length;
  const started = clock.now();
  let labelled = 0;
  const failures = [];
  // Once every node is labelled or has failed, SIGTERM the rest (the DaemonSet stays: they keep Kata).
  const settle = () => {
    if (labelled + failures.length === nodes) for (const terminate of terminators) terminate();
  };
  let lastLabelledAt = started;
  const terminators = [];
  const runs = names.map((name) => {
    const access = createKube({ kubeconfig, nodeName: name }, silentLogger(), {
      serviceAccountDir: path.join(dir, 'none'),
    });
    const install = async () => {
      const slots =
        budget === 0
          ? undefined
          : restartBudget(access.leasesIn('kata-deploy'), name, budget, {
              clock,
              log: silentLogger(),
              pollMs: POLL_MS / SPEEDUP,
              maxPollMs: MAX_POLL_MS / SPEEDUP,
            });
      const guarded = slots === undefined ? control : budgetedControl(control, slots);
      try {
        await guarded.preflight();
        await guarded.restart();
        await guarded.waitForHandlers(['runc'], 60_000);
      } finally {
        await slots?.release();
      }
      return { kind: 'installed', summary: 'installed' };
    };
    return runDaemon({
      settings: { multiInstallSuffix: undefined, startupTaints: [] },
      install,
      uninstall: async () => {},
      kube: access,
      daemonSet: { namespace: 'kata-deploy', name: 'kata-deploy' },
      healthPort: 0,
      healthHost: '127.0.0.1',
      terminated: new Promise((resolve) => terminators.push(resolve)),
      clock,
      log: silentLogger(),
      onReady: () => {
        labelled += 1;
        lastLabelledAt = clock.now();
        settle();
      },
    }).then((exit) => {
      if (exit.kind === 'install-failed') {
        failures.push(`${name}: ${exit.error.message}`);
        settle();
      }
      return exit;
    });
  });
  const exits = await Promise.all(runs);
  if (failures.length > 0)
    throw new Error(`budget ${budget}: ${failures.length} node(s) failed, e.g. ${failures.slice(0, 3).join('; ')}`);
  const failed = exits.find((exit) => exit.kind !== 'left-installed');
  if (failed !== undefined) throw new Error(`budget ${budget}: a node ended ${failed.kind}`);
  for (const name of names)
    if (api.labels(name)['katacontainers.io/kata-runtime'] !== 'true') throw new Error(`${name} not labelled`);
  const served = api.requests.slice(before.all);
  const chain = budget === 0 ? 1 : Math.ceil(nodes / budget);
  const sigterm = 2 * nodes; // SIGTERM with the DaemonSet present: node + DaemonSet reads (kube-fleet.mjs)
  const leaseRequests = api.requests.filter((r) => r.path.includes('/leases')).length - leaseRequestsBefore;
  const slotWrites = api.leases.history.length - before.slotWrites;
  const installAndLabel = served.length - sigterm - leaseRequests;
  return {
    budget,
    nodes,
    fixed: (installAndLabel + slotWrites) / nodes,
    waiting: (leaseRequests - slotWrites) / nodes,
    wall: (lastLabelledAt - started) / 1000,
    projected: (lastLabelledAt - started + chain * restartMs * (1 - 1 / SPEEDUP)) / 1000,
    ideal: (chain * restartMs) / 1000,
    peak,
    leftover: api.leases.store.size,
  };
}

const dir = mkdtempSync(path.join(tmpdir(), 'kata-deploy-budget-bench-'));
const api = await new FakeKubeApi().start();
try {
  const restart = await measureRestartMs();
  const kubeconfig = api.writeKubeconfig(path.join(dir, 'kubeconfig'));
  api.addDaemonSet('kata-deploy', 'kata-deploy');
  console.log(
    `fleet rollout: nodes started at once, real client over HTTPS to the fake API server; restart ` +
      `${restart.ms.toFixed(0)} ms (${restart.how}); restarts and slot polls shortened ${SPEEDUP}×`,
  );
  console.log(
    '| budget | nodes | requests/node: install + label + slot (goal ≤ 6) | extra lease reads/node while waiting | ' +
      'wall time (restarts shortened) | projected time until all labelled | ideal ⌈N/budget⌉ × restart | ' +
      'peak simultaneous restarts |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  const rows = [];
  for (const budget of BUDGETS) {
    const row = await fleet(api, kubeconfig, dir, budget, restart.ms, budget === 1 ? SERIAL_NODES : NODES);
    rows.push(row);
    const name = row.budget === 0 ? 'unlimited (0)' : String(row.budget);
    console.log(
      `| ${name} | ${row.nodes} | ${row.fixed.toFixed(2)} | ${row.waiting.toFixed(2)} | ${row.wall.toFixed(1)} s | ` +
        `${row.projected.toFixed(1)} s | ${row.ideal.toFixed(1)} s | ${row.peak} |`,
    );
  }
  const serial = rows.find((row) => row.budget === 1);
  if (serial !== undefined && serial.nodes < NODES)
    console.log(
      `budget 1 at ${NODES} nodes, extrapolated from ${serial.nodes} (restarts run one after another): ` +
        `≈ ${((serial.projected * NODES) / serial.nodes / 60).toFixed(1)} min`,
    );
  for (const row of rows) {
    if (row.budget !== 0 && row.peak !== row.budget) {
      console.error(`budget ${row.budget}: peak of ${row.peak} simultaneous restarts, expected ${row.budget}`);
      process.exitCode = 1;
    }
    if (row.leftover !== 0) {
      console.error(`budget ${row.budget}: ${row.leftover} Lease(s) left behind`);
      process.exitCode = 1;
    }
    if (row.fixed > 6) {
      console.error(`budget ${row.budget}: ${row.fixed.toFixed(2)} requests per node, over the goal of 6`);
      process.exitCode = 1;
    }
  }
} finally {
  await api.stop();
  rmSync(dir, { recursive: true, force: true });
}
