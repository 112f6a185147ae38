// Fleet rollout under the restart budget, run from the compiled dist/ (npm run bench builds it).
// 1. Measures one node's restart time: a throwaway node (real systemd user manager, real containerd),
//    restart over D-Bus until CRI serves a new handler, median of 7 rounds; and one API round trip: the
//    median of 31 GETs by one real client against the fake API server.
// 2. Starts a fleet of simulated nodes (1,000; at most 100 awaiting their first answer at once), each
//    running the real daemon (claim → install → label → event) through the real @kubernetes/client-node
//    against the local HTTPS fake API server; the install takes a restart slot through the real budget
//    with its production settings (budgetedControl over restartBudget: LIST, write, WATCH of the home
//    slot, the 2 s race spread, the renewals, the release) and "restarts" by sleeping for the measured
//    restart time.
// What is simulated: the restart (a sleep of the measured length), the network, and time itself. Every
// sleep goes through a discrete-event clock (support/event-clock.mjs): simulated time stands still while
// anything in this process is under way and jumps to the next sleep once all is quiet; the fake server
// holds every answer and every watch event for one measured round trip on that clock. So the figures
// depend on the protocol, the restart time and the round trip, not on how fast this one process serves a
// thousand clients ("wall time" is that). "time until all labelled" is simulated time.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FakeKubeApi } from '../../test/helpers/fake-kube-api.ts';
import { startThrowawayNode, throwawayNodeUnsupported } from '../../test/helpers/throwaway-node/node.mjs';
import { eventClock } from './support/event-clock.mjs';

const root = path.join(import.meta.dirname, '..', '..');
const dist = (file) => path.join(root, 'dist', file);
const { createKube } = await import(dist('kube/create-kube.js'));
const { runDaemon } = await import(dist('modes/daemon.js'));
const { silentLogger } = await import(dist('host/logger.js'));
const { systemClock } = await import(dist('host/clock.js'));
const { restartBudget } = await import(dist('kube/restart-budget.js'));
const { homeSlot } = await import(dist('kube/restart-slots.js'));
const { budgetedControl } = await import(dist('wiring/budgeted-control.js'));
const { connectSystemd } = await import(dist('systemd/systemd-client.js'));
const { socketProbe, waitForHandlers } = await import(dist('containerd/readiness.js'));

const NODES = Number(process.env.FLEET_NODES ?? 1000);
// Budget 1 hands the slot over once per node, each hand-over an event to every waiter: ~5 min of wall time.
const SERIAL_NODES = Number(process.env.FLEET_SERIAL_NODES ?? NODES);
// Pods start as fast as the API server takes them: at most 100 awaiting their first answer at once.
// 1,000 TLS handshakes in the same instant time out (undici's 10 s connect timeout) on this shared
// 2-core machine before any node gets a slot.
const STARTING = 100;

/** Resolves once fewer than STARTING of the nodes started so far still await their first answer. */
function startGate(api, prefix) {
  let scanned = api.requests.length;
  let answered = 0;
  const pending = [];
  const count = () => {
    for (; scanned < api.requests.length; scanned += 1) {
      const request = api.requests[scanned];
      if (request.method === 'GET' && request.path.startsWith(`/api/v1/nodes/${prefix}`)) pending.push(request);
    }
    for (let i = pending.length - 1; i >= 0; i -= 1)
      if (pending[i].status !== undefined) {
        pending.splice(i, 1);
        answered += 1;
      }
    return answered;
  };
  return async (started) => {
    while (started - count() >= STARTING) await new Promise((resolve) => setTimeout(resolve, 10));
  };
}
const BUDGETS = [1, 10, 0];
const log = silentLogger();

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

/**
 * One API round trip on this machine: the median of 31 sequential GETs of a Node by one real client
 * against the fake server, idle otherwise. The simulation charges every request and watch event this.
 */
async function measureLatencyMs(api, kubeconfig, dir) {
  if (process.env.FLEET_LATENCY_MS !== undefined)
    return { ms: Number(process.env.FLEET_LATENCY_MS), how: 'FLEET_LATENCY_MS' };
  api.addNode('latency-probe');
  const access = createKube({ kubeconfig, nodeName: 'latency-probe' }, silentLogger(), {
    serviceAccountDir: path.join(dir, 'none'),
    clock: systemClock,
  });
  const rounds = [];
  for (let round = 0; round < 32; round += 1) {
    const started = performance.now();
    await access.kube.getNode('latency-probe');
    if (round > 0) rounds.push(performance.now() - started);
  }
  rounds.sort((a, b) => a - b);
  return { ms: rounds[Math.floor(rounds.length / 2)], how: 'median of 31 GETs, one client, fake API server' };
}

/** Per node: its lease writes in order (POST/PUT carry the holder), to tell a first write from a race. */
function slotWrites(requests) {
  const byNode = new Map();
  for (const request of requests) {
    if (!request.path.includes('/leases') || (request.method !== 'POST' && request.method !== 'PUT')) continue;
    const node = request.body?.spec?.holderIdentity;
    if (!byNode.has(node)) byNode.set(node, []);
    byNode.get(node).push(request);
  }
  return byNode;
}

async function fleet(api, kubeconfig, dir, budget, restartMs, nodes, latencyMs) {
  const clock = eventClock({
    activity: () => api.requests.length + api.leases.watches.activity,
    parked: () => api.parked,
  });
  api.latency = () => clock.sleep(latencyMs);
  api.leases.watches.deliveryDelay = api.latency;
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
      await clock.sleep(restartMs);
      restarting -= 1;
    },
    liveHandlers: async () => ['runc'],
    waitForHandlers: async () => ({ ready: true, elapsedMs: 0 }),
  };
  const names = Array.from({ length: nodes }, (_, i) => `b${budget}-${i}`);
  for (const name of names) api.addNode(name);
  const first = api.requests.length;
  const watches = { opened: api.leases.watches.opened, events: api.leases.watches.eventsSent };
  const wallStart = performance.now();
  const started = clock.now();
  let labelled = 0;
  let lastLabelledAt = started;
  let atLabelled;
  const failures = [];
  const terminators = [];
  // Once every node is labelled or has failed, SIGTERM the rest (the DaemonSet stays: they keep Kata).
  const settle = () => {
    if (labelled + failures.length !== nodes) return;
    atLabelled = {
      requests: api.requests.length,
      opened: api.leases.watches.opened,
      events: api.leases.watches.eventsSent,
      wallMs: performance.now() - wallStart,
    };
    for (const terminate of terminators) terminate();
  };
  if (process.env.WARP_DEBUG)
    setInterval(() => {
      const held = [...api.leases.store.values()].map((l) => `${l.metadata.name}=${l.spec?.holderIdentity}`);
      console.error(JSON.stringify({ labelled, restarting, held, open: api.leases.watches.open }));
    }, 2000).unref();
  const gate = startGate(api, `b${budget}-`);
  let queue = Promise.resolve();
  const runs = names.map(async (name, index) => {
    queue = queue.then(() => gate(index));
    await queue;
    const access = createKube({ kubeconfig, nodeName: name }, silentLogger(), {
      serviceAccountDir: path.join(dir, 'none'),
      clock,
    });
    const install = async () => {
      // The production defaults: LIST, write, WATCH of the home slot, a 2 s race spread, polls of 5 s to 30 s.
      const slots =
        budget === 0 ? undefined : restartBudget(access.leasesIn('kata-deploy'), name, budget, { clock, log });
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
      log,
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
  clock.stop();
  api.latency = undefined;
  api.leases.watches.deliveryDelay = undefined;
  if (failures.length > 0)
    throw new Error(`budget ${budget}: ${failures.length} node(s) failed, e.g. ${failures.slice(0, 3).join('; ')}`);
  const failed = exits.find((exit) => exit.kind !== 'left-installed');
  if (failed !== undefined) throw new Error(`budget ${budget}: a node ended ${failed.kind}`);
  for (const name of names)
    if (api.labels(name)['katacontainers.io/kata-runtime'] !== 'true') throw new Error(`${name} not labelled`);
  // Everything up to the moment the last node was labelled (the SIGTERMs after it are kube-fleet.mjs's).
  const served = api.requests.slice(first, atLabelled.requests);
  const lease = served.filter((r) => r.path.includes('/leases'));
  const watchRequests = atLabelled.opened - watches.opened;
  const leaseReads = lease.filter((r) => r.method === 'GET').length;
  const isRenewal = (r) =>
    r.method === 'PUT' && r.body?.spec?.acquireTime !== undefined && r.body.spec.acquireTime !== r.body.spec.renewTime;
  const renewals = lease.filter((r) => isRenewal(r) && r.status !== undefined && r.status < 300).length;
  const won = lease.filter((r) => r.method !== 'GET' && r.status !== undefined && r.status < 300).length - renewals;
  let firstGuessLost = 0;
  let raceLost = 0;
  for (const writes of slotWrites(served).values())
    writes.forEach((write, index) => {
      if (write.status !== 409) return;
      if (index === 0) firstGuessLost += 1;
      else raceLost += 1;
    });
  const chain = budget === 0 ? 1 : Math.ceil(nodes / budget);
  // The rollout waits for the longest home queue (restart-slots.ts homeSlot).
  const queues = new Map();
  for (const name of names) {
    const home = budget === 0 ? 0 : homeSlot(name, budget);
    queues.set(home, (queues.get(home) ?? 0) + 1);
  }
  const longestQueue = budget === 0 ? 1 : Math.max(...queues.values());
  return {
    budget,
    nodes,
    fixed: (served.length - lease.length + won) / nodes,
    renewals: renewals / nodes,
    lists: (leaseReads - watchRequests) / nodes,
    watches: watchRequests / nodes,
    firstGuessLost: firstGuessLost / nodes,
    raceLost: raceLost / nodes,
    events: (atLabelled.events - watches.events) / nodes,
    total: served.length / nodes,
    simulated: (lastLabelledAt - started) / 1000,
    ideal: (chain * restartMs) / 1000,
    queueBound: (longestQueue * restartMs) / 1000,
    longestQueue,
    wall: atLabelled.wallMs / 1000,
    jumps: clock.jumps(),
    peak,
    leftover: api.leases.store.size,
  };
}

const dir = mkdtempSync(path.join(tmpdir(), 'kata-deploy-budget-bench-'));
const api = await new FakeKubeApi().start();
try {
  const restart = await measureRestartMs();
  const kubeconfig = api.writeKubeconfig(path.join(dir, 'kubeconfig'));
  const latency = await measureLatencyMs(api, kubeconfig, dir);
  api.addDaemonSet('kata-deploy', 'kata-deploy');
  console.log(
    `fleet rollout: ${NODES} nodes (at most ${STARTING} awaiting their first answer), real client over HTTPS ` +
      `to the fake API server; restart ` +
      `${restart.ms.toFixed(0)} ms (${restart.how}), simulated as a sleep; every request and watch event ` +
      `${latency.ms.toFixed(2)} ms (${latency.how}); simulated time (discrete-event clock)`,
  );
  console.log(
    '| budget | requests/node: install + label + slot (goal ≤ 6) | waiting: LIST/node | waiting: WATCH/node | ' +
      'lost slot writes (409)/node: first write, after a release | renewals/node | watch events/node | ' +
      'all requests/node | time until all labelled | ideal ⌈N/budget⌉ × restart | longest home queue × restart | ' +
      'peak simultaneous restarts | wall time |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  const rows = [];
  for (const budget of BUDGETS) {
    const row = await fleet(api, kubeconfig, dir, budget, restart.ms, budget === 1 ? SERIAL_NODES : NODES, latency.ms);
    rows.push(row);
    const nodes = row.nodes === NODES ? '' : ` (${row.nodes} nodes)`;
    const name = `${row.budget === 0 ? 'unlimited (0)' : row.budget}${nodes}`;
    console.log(
      `| ${name} | ${row.fixed.toFixed(2)} | ${row.lists.toFixed(2)} | ${row.watches.toFixed(2)} | ` +
        `${row.firstGuessLost.toFixed(2)}, ${row.raceLost.toFixed(2)} | ${row.renewals.toFixed(2)} | ` +
        `${row.events.toFixed(1)} | ${row.total.toFixed(2)} | ${row.simulated.toFixed(1)} s | ` +
        `${row.ideal.toFixed(1)} s | ${row.queueBound.toFixed(1)} s (${row.longestQueue}) | ${row.peak} | ` +
        `${row.wall.toFixed(1)} s (${row.jumps} steps) |`,
    );
  }
  for (const row of rows) {
    const expected = Math.min(row.budget, row.nodes);
    if (row.budget !== 0 && row.peak !== expected) {
      console.error(`budget ${row.budget}: peak of ${row.peak} simultaneous restarts, expected ${expected}`);
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
