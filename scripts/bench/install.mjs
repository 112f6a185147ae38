// Install benchmark (issue 5): the real CLI (`node dist/cli/main.js install|uninstall`) inside a throwaway
// node (real systemd user manager running a real containerd as containerd.service), for containerd 1.6
// and 2.x. Reports containerd restarts per install, reinstall and uninstall (from the node's start
// counter); restart request → every handler live, from the run's own JSON log lines, beside a bare
// `systemctl --user restart` + CRI Status poll measured on the same node; and the whole install of the
// ~600 MB bench payload against `zstd -dc | tar -x` (GNU tar) on the same archive into the same tmpfs,
// alternating, plus the reinstall. Runs the compiled dist/ (`npm run bench` builds first).
//
//   npm run bench -- install        (BENCH_ROUNDS=10 BIG_ROUNDS=5 BENCH_SIZE=600M BENCH_FILES=2000 to change)
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { socketProbe, waitForHandlers } from '../../dist/containerd/readiness.js';
import { systemClock } from '../../dist/host/clock.js';
import { silentLogger } from '../../dist/host/logger.js';
import { containerdBinaries } from '../../test/helpers/containerd-binaries.ts';
import { startThrowawayNode, throwawayNodeUnsupported } from '../../test/helpers/throwaway-node/node.mjs';
import { benchPayload } from './support/bench-payload.mjs';
import { loadAverage, median, percentile, printTable, settle } from './support/figures.mjs';

const repo = path.resolve(import.meta.dirname, '../..');
const CLI = path.join(repo, 'dist/cli/main.js');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
const BIG_ROUNDS = Number(process.env.BIG_ROUNDS ?? 5);
const OPERATOR_CONFIG = `version = 2
[plugins."io.containerd.grpc.v1.cri".containerd]
  default_runtime_name = "runc"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
`;

/** One CLI run inside the node, timed from here (the agent round trip is ~1 ms of it). */
async function cli(node, containerd, payload, command) {
  const argv = [
    process.execPath,
    CLI,
    command,
    '--systemd-socket',
    node.systemdSocket,
    '--payload',
    payload,
    '--containerd-binary',
    containerd,
    '--log-format',
    'json',
    '--json',
  ];
  const startsBefore = await node.containerdStarts();
  settle();
  const started = performance.now();
  const run = await node.run(argv, { timeoutMs: 120_000 });
  const wallMs = performance.now() - started;
  const restarts = (await node.containerdStarts()) - startsBefore;
  if (run.exitCode !== 0) throw new Error(`${command} exited ${run.exitCode}:\n${run.stderr}`);
  const log = run.stderr
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
  const payloadLine = log.find((line) => line.msg === 'payload installed');
  return {
    wallMs,
    restarts,
    result: JSON.parse(run.stdout),
    log,
    inProcessMs: timeOf(log.at(-1)) - timeOf(log[0]),
    payloadMs: payloadLine === undefined ? undefined : timeOf(payloadLine) - timeOf(log[0]),
  };
}

const timeOf = (entry) => (typeof entry.time === 'number' ? entry.time : Date.parse(entry.time));

/** 'restarting the container runtime' → 'the runtime serves every handler', from pino's `time` (ms). */
function restartToLiveMs(log) {
  const at = (msg) => {
    const entry = log.find((line) => line.msg === msg);
    if (entry === undefined) throw new Error(`no '${msg}' line in the install log`);
    return timeOf(entry);
  };
  return at('the runtime serves every handler') - at('restarting the container runtime');
}

/** The floor: `systemctl --user restart` (job done) then CRI Status polled every 5 ms until `handlers` are served. */
async function bareRestartMs(node, handlers) {
  const started = performance.now();
  const restart = spawnSync('systemctl', ['--user', 'restart', 'containerd.service'], {
    env: { ...process.env, XDG_RUNTIME_DIR: node.runtimeDir },
    encoding: 'utf8',
  });
  if (restart.status !== 0) throw new Error(`systemctl --user restart containerd.service: ${restart.stderr}`);
  const readiness = await waitForHandlers(
    socketProbe(node.containerdSocket),
    handlers,
    20_000,
    systemClock,
    silentLogger(),
    { intervalMs: 5 },
  );
  if (!readiness.ready) throw new Error(`containerd did not serve ${handlers.join(', ')}: ${readiness.reason}`);
  return performance.now() - started;
}

/** `zstd -dc | tar -x` of the same archive into the node's /opt tmpfs (where /opt/kata lands), timed like a CLI run. */
async function tarBaselineMs(node, payload) {
  await node.run(['mkdir', '-p', '/opt/tar-baseline']);
  settle();
  const started = performance.now();
  const run = await node.run(['sh', '-c', 'zstd -dc -q "$1" | tar -x -C /opt/tar-baseline', 'sh', payload]);
  const wallMs = performance.now() - started;
  if (run.exitCode !== 0) throw new Error(`zstd | tar exited ${run.exitCode}: ${run.stderr}`);
  await node.run(['rm', '-rf', '/opt/tar-baseline']);
  return wallMs;
}

/** Median wall time of `argv` run in the node 3 times: the floor under every CLI run. */
async function startMs(node, argv) {
  const times = [];
  for (let i = 0; i < 3; i += 1) {
    const started = performance.now();
    const run = await node.run(argv);
    times.push(performance.now() - started);
    if (run.exitCode !== 0) throw new Error(`${argv.join(' ')} exited ${run.exitCode}: ${run.stderr}`);
  }
  return median(times);
}

/** Install/uninstall cycles of the small payload: restart counts and restart → live, CLI and bare. */
async function restartRounds(node, binary, payload) {
  const out = { first: [], reinstall: undefined, uninstall: [], spanMs: [], readinessMs: [], bareMs: [] };
  for (let round = 0; round < ROUNDS; round += 1) {
    const install = await cli(node, binary, payload, 'install');
    out.first.push(install.restarts);
    out.spanMs.push(restartToLiveMs(install.log));
    out.readinessMs.push(install.result.readiness.elapsedMs);
    if (round === 0) out.reinstall = (await cli(node, binary, payload, 'install')).restarts;
    out.bareMs.push(await bareRestartMs(node, ['runc', ...install.result.handlers]));
    out.uninstall.push((await cli(node, binary, payload, 'uninstall')).restarts);
  }
  return out;
}

/** Whole installs of the big payload against GNU tar, alternating; the first round also reinstalls. */
async function bigRounds(node, binary, payload) {
  const out = {
    tarMs: [],
    installMs: [],
    inProcessMs: [],
    payloadMs: [],
    reinstallMs: undefined,
    reinstallRestarts: undefined,
    spanMs: [],
  };
  for (let round = 0; round < BIG_ROUNDS; round += 1) {
    out.tarMs.push(await tarBaselineMs(node, payload));
    const install = await cli(node, binary, payload, 'install');
    if (install.restarts !== 1) throw new Error(`600 MB install restarted containerd ${install.restarts} times`);
    out.installMs.push(install.wallMs);
    out.inProcessMs.push(install.inProcessMs);
    out.payloadMs.push(install.payloadMs);
    out.spanMs.push(restartToLiveMs(install.log));
    if (round === 0) {
      const again = await cli(node, binary, payload, 'install');
      out.reinstallMs = again.wallMs;
      out.reinstallRestarts = again.restarts;
    }
    await cli(node, binary, payload, 'uninstall');
  }
  return out;
}

const missing = throwawayNodeUnsupported();
const binaries = containerdBinaries();
const cases = [
  ['1.6', binaries.find((b) => b.version.startsWith('1.6.'))],
  ['2.x', binaries.find((b) => b.version.startsWith('2.'))],
];
if (missing !== undefined || cases.some(([, binary]) => binary === undefined)) {
  const why = 'needs containerd 1.6 (/usr/bin/containerd) and 2.x (bash scripts/ci/containerd-binaries.sh)';
  console.log(`skipped: ${missing ?? why}`);
  process.exit(0);
}

const small = benchPayload('5M', 120);
const big = benchPayload(process.env.BENCH_SIZE ?? '600M', Number(process.env.BENCH_FILES ?? 2000));
const begun = performance.now();
const rows = [];
const notes = [];
let ok = true;
const ms = (value) => value.toFixed(0);
const counted = (label, values, expected) => {
  const good = values.every((value) => value === expected);
  ok &&= good;
  rows.push([label, values.join(' '), String(expected), good ? '-' : 'FAIL']);
};

for (const [label, binary] of cases) {
  const node = await startThrowawayNode({ containerd: binary.path, config: OPERATOR_CONFIG });
  try {
    const r = await restartRounds(node, binary.path, small);
    counted(
      `containerd ${binary.version}: restarts per install (${ROUNDS} rounds, each after an uninstall)`,
      r.first,
      1,
    );
    counted(`containerd ${binary.version}: restarts per reinstall`, [r.reinstall], 0);
    counted(`containerd ${binary.version}: restarts per uninstall (${ROUNDS} rounds)`, r.uninstall, 1);
    const bare = median(r.bareMs);
    rows.push([
      `containerd ${binary.version}: restart request → handlers live, ms, median (log lines)`,
      ms(median(r.spanMs)),
      `${ms(bare)} (systemctl restart + CRI poll 5 ms)`,
      (median(r.spanMs) / bare).toFixed(2),
    ]);
    rows.push([
      `containerd ${binary.version}:   same, p90`,
      ms(percentile(r.spanMs, 0.9)),
      `${ms(percentile(r.bareMs, 0.9))} (bare, p90)`,
      (percentile(r.spanMs, 0.9) / percentile(r.bareMs, 0.9)).toFixed(2),
    ]);
    rows.push([
      `containerd ${binary.version}:   readiness.elapsedMs (after the job), median / p90`,
      `${ms(median(r.readinessMs))} / ${ms(percentile(r.readinessMs, 0.9))}`,
      '-',
      '-',
    ]);
    notes.push(
      `containerd ${binary.version} restart → live, ms: CLI ${r.spanMs.map(ms).join(' ')}; bare ` +
        `${r.bareMs.map(ms).join(' ')}; readiness.elapsedMs ${r.readinessMs.join(' ')}`,
    );
    if (label === '2.x') {
      const b = await bigRounds(node, binary.path, big);
      const tar = median(b.tarMs);
      const install = median(b.installMs);
      const inside = median(b.inProcessMs);
      ok &&= b.reinstallRestarts === 0;
      rows.push([
        `containerd ${binary.version}: whole install, 600 MB payload, s (median, CLI process)`,
        (install / 1000).toFixed(2),
        `${(tar / 1000).toFixed(2)} (zstd -dc | tar -x)`,
        (install / tar).toFixed(2),
      ]);
      rows.push([
        `containerd ${binary.version}:   same, in-process (first → last log line), s`,
        (inside / 1000).toFixed(2),
        `${(tar / 1000).toFixed(2)} (zstd -dc | tar -x)`,
        (inside / tar).toFixed(2),
      ]);
      rows.push([
        `containerd ${binary.version}:   of it first log line → 'payload installed', s`,
        (median(b.payloadMs) / 1000).toFixed(2),
        `${(tar / 1000).toFixed(2)} (zstd -dc | tar -x)`,
        (median(b.payloadMs) / tar).toFixed(2),
      ]);
      rows.push([
        `containerd ${binary.version}:   of it restart request → handlers live, ms (median)`,
        ms(median(b.spanMs)),
        '-',
        '-',
      ]);
      rows.push([
        `containerd ${binary.version}: reinstall, 600 MB payload, s (restarts: ${b.reinstallRestarts})`,
        (b.reinstallMs / 1000).toFixed(2),
        `${(install / 1000).toFixed(2)} (first install)`,
        (b.reinstallMs / install).toFixed(2),
      ]);
      const help = await startMs(node, [process.execPath, CLI, '--help']);
      const bareNode = await startMs(node, [process.execPath, '-e', '0']);
      rows.push([
        'CLI start-up floor: `kata-deploy --help` in the node, ms (median of 3)',
        ms(help),
        `${ms(bareNode)} (node -e 0)`,
        (help / bareNode).toFixed(1),
      ]);
      notes.push(
        `600 MB (${path.relative(repo, big)}), ${BIG_ROUNDS} rounds, s: GNU tar ` +
          `${b.tarMs.map((v) => (v / 1000).toFixed(2)).join(' ')}; install ` +
          `${b.installMs.map((v) => (v / 1000).toFixed(2)).join(' ')}`,
      );
    }
  } finally {
    await node.stop();
  }
}

for (const note of notes) console.log(note);
console.log(
  `total ${((performance.now() - begun) / 1000).toFixed(0)} s; machine load average at the end: ${loadAverage()} ` +
    `(other processes share these cores; rerun when it is high)`,
);
printTable(rows);
console.log(ok ? 'restart-count targets met' : 'restart-count targets NOT met');
process.exitCode = ok ? 0 : 1;
