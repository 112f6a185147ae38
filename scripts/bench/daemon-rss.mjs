// Idle RSS of the REAL `kata-deploy daemon`, after it has really installed Kata and gone idle: the
// bundled CLI the image runs (`node dist/bundle/kata-deploy.mjs daemon`, rebuilt here by
// scripts/bundle.mjs), the unbundled `node dist/cli/main.js daemon` and the standalone binary
// (dist/standalone/kata-deploy, rebuilt here by scripts/standalone.mjs), each inside a throwaway node
// (real systemd user manager running containerd 1.6). The daemon is a supervisor: the install ran in a
// child that has exited by the time /readyz answers 200, so the row is the process that idles for weeks.
// Beside them, measured the same way on the same node in the same run: a bare
// `node -e "setInterval(()=>{},1000)"` (the baseline of the ratio), and the floor of the design: node
// serving the same /healthz and /readyz with node:http after one IPC child has come and gone.
// No API access (NODE_NAME, KUBECONFIG and the in-cluster variables are unset): the daemon installs,
// serves /healthz and /readyz and idles; on SIGTERM it must exit 0 and leave Kata installed
// (docs/KUBERNETES.md), which this script checks with `kata-deploy status` before cleaning up with
// `kata-deploy uninstall`. scripts/bench/kube-fleet.mjs keeps measuring the stub daemon against the fake
// API server.
//
//   npm run bench -- daemon-rss        (RSS_ROUNDS=3 IDLE_SECONDS=5 to change)
//   RSS_STANDALONE=0 skips the standalone binary (its build takes ~15 s).
//   The bundle row runs with the supervisor's Node/V8 flags from the image's entrypoint
//   (scripts/image/runtime.list, the one place the Dockerfile and the test-bed image also take them from);
//   a second bundle row runs without them. RSS_NODE_FLAGS="--jitless" adds a row with other flags instead.
//   RSS_HEAP=1 adds V8's own figures (process.memoryUsage() from a preloaded 1 s timer) to each row:
//   a diagnostic, off by default because the probe is code the image does not run. RSS_HEAP=gc also
//   forces a full GC every second (--expose-gc): how much of the idle RSS is garbage V8 never collects.
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { startThrowawayNode, throwawayNodeUnsupported } from '../../test/helpers/throwaway-node/node.mjs';
import { benchPayload } from './support/bench-payload.mjs';
import { loadAverage, median } from './support/figures.mjs';
import { imageSupervisorFlags } from './support/image-entrypoint.mjs';

const repo = path.resolve(import.meta.dirname, '../..');
const BUNDLE = path.join(repo, 'dist/bundle/kata-deploy.mjs');
const DIST = path.join(repo, 'dist/cli/main.js');
const STANDALONE = path.join(repo, 'dist/standalone/kata-deploy');
const WITH_STANDALONE = process.env.RSS_STANDALONE !== '0';
const NODE_FLAGS = (process.env.RSS_NODE_FLAGS ?? '').split(' ').filter(Boolean);
const IMAGE_FLAGS = imageSupervisorFlags();
// The design's floor: what a process serving the probes with node:http holds after one IPC child came and went.
const FLOOR_SOURCE = String.raw`
const port = Number(process.argv[1]);
const { createServer } = process.getBuiltinModule('node:http');
const { spawn } = process.getBuiltinModule('node:child_process');
const child = spawn(process.execPath, ['-e', 'process.send({ done: true }, () => process.disconnect())'], {
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
let ready = false;
child.once('message', () => {});
child.once('close', () => { ready = true; });
createServer((req, res) => {
  const status = req.url === '/healthz' || (req.url === '/readyz' && ready) ? 200 : 503;
  res.writeHead(status, { connection: 'close' });
  res.end();
}).listen(port, '0.0.0.0');
process.on('SIGTERM', () => process.exit(0));
`;
const CONTAINERD = '/usr/bin/containerd';
// What the operator's node starts with (matrix.ts's RUNC_ONLY; that file is TypeScript importing .js).
const RUNC_ONLY = `version = 2
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
`;
const ROUNDS = Number(process.env.RSS_ROUNDS ?? 3);
const IDLE_SECONDS = Number(process.env.IDLE_SECONDS ?? 5);
const HEAP = process.env.RSS_HEAP === '1' || process.env.RSS_HEAP === 'gc';
const GC = process.env.RSS_HEAP === 'gc';
const HEAP_PROBE_SOURCE =
  `setInterval(() => { ${GC ? 'globalThis.gc();' : ''} ` +
  `process.stderr.write(JSON.stringify({ msg: 'memoryUsage', ...process.memoryUsage() }) + '\\n'); }, 1000).unref();`;
const PROBE = HEAP
  ? [...(GC ? ['--expose-gc'] : []), `--import=data:text/javascript,${encodeURIComponent(HEAP_PROBE_SOURCE)}`]
  : [];

// Runs "$@" in the background without any way to reach an API server, waits until it is ready (readyz
// 200, or for the bare baseline: exec'd), idles, reads /proc/<pid>/status, SIGTERMs and reports the exit.
const MEASURE = String.raw`
set -u
node_bin=$1; port=$2; log=$3; idle=$4; shift 4
env -u NODE_NAME -u KUBECONFIG -u KUBERNETES_SERVICE_HOST -u KUBERNETES_SERVICE_PORT "$@" >"$log" 2>&1 &
pid=$!
echo "pid=$pid"
tries=0
if [ "$port" = "-" ]; then
  until [ "$(readlink /proc/$pid/exe 2>/dev/null)" = "$node_bin" ]; do
    tries=$((tries + 1)); [ $tries -gt 500 ] && { echo "error=never exec'd node"; kill -KILL $pid; exit 4; }
    sleep 0.01
  done
else
  probe='fetch(process.argv[1]).then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1))'
  until "$node_bin" -e "$probe" "http://127.0.0.1:$port/readyz"; do
    if ! kill -0 $pid 2>/dev/null; then wait $pid; echo "error=exited $? before /readyz answered 200"; exit 3; fi
    tries=$((tries + 1))
    [ $tries -gt 600 ] && { echo "error=/readyz not 200 after 600 polls"; kill -KILL $pid; exit 4; }
    sleep 0.2
  done
fi
echo "ready_polls=$tries"
sleep "$idle"
kill -0 $pid 2>/dev/null || { wait $pid; echo "error=exited $? while idle"; exit 5; }
echo "children=$(cat /proc/$pid/task/*/children | wc -w)"
grep -E '^(VmRSS|VmHWM|RssAnon|RssFile):' /proc/$pid/status | tr -d ' \t' | sed 's/kB$//; s/:/=/'
kill -TERM $pid
wait $pid
echo "exit=$?"
`;

/** A TCP port free on this machine right now (the node shares the host's network namespace). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const parseFields = (stdout) =>
  Object.fromEntries(
    stdout
      .split('\n')
      .filter((line) => line.includes('='))
      .map((line) => {
        const at = line.indexOf('=');
        return [line.slice(0, at), line.slice(at + 1)];
      }),
  );

/** Kata as `status` sees it: exit 0 = every shim installed and served. */
async function kataStatus(node, cli) {
  const run = await node.run(
    [...cli, 'status', '--systemd-socket', node.systemdSocket, '--containerd-binary', CONTAINERD, '--json'],
    { timeoutMs: 60_000 },
  );
  return {
    exitCode: run.exitCode,
    config: (await node.readFile('/etc/containerd/config.toml')) ?? '',
    optKata: (await node.stat('/opt/kata')).exists,
  };
}

/** One measured process: start, ready, idle, read /proc status, SIGTERM; for a daemon also the aftermath. */
async function measure(node, label, argv, { daemon, cli, logFile, serves = daemon }) {
  const port = serves ? String(await freePort()) : '-';
  const run = await node.run(
    [
      'sh',
      '-c',
      MEASURE,
      'sh',
      process.execPath,
      port,
      logFile,
      String(IDLE_SECONDS),
      ...argv.map((arg) => (arg === '@PORT' ? port : arg)),
    ],
    { timeoutMs: 300_000 },
  );
  const fields = parseFields(run.stdout);
  const log = await node.readFile(logFile);
  if (run.exitCode !== 0 || fields.VmRSS === undefined) {
    throw new Error(
      `${label}: ${fields.error ?? `measuring script exited ${run.exitCode}`}\n${run.stderr}\n--- its log:\n${log}`,
    );
  }
  const row = {
    label,
    rssKiB: Number(fields.VmRSS),
    hwmKiB: Number(fields.VmHWM),
    anonKiB: Number(fields.RssAnon),
    exit: Number(fields.exit),
    children: Number(fields.children),
    notes: [],
  };
  const lines = (log ?? '')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line));
  row.heap = lines.findLast((line) => line.msg === 'memoryUsage');
  if (!daemon) return row;
  const after = await kataStatus(node, cli);
  const stillInstalled = after.exitCode === 0 && /runtimes\.kata-qemu\]/.test(after.config) && after.optKata;
  if (row.exit !== 0) row.notes.push(`BUG: exited ${row.exit} on SIGTERM (expected 0)`);
  if (row.children !== 0) row.notes.push(`BUG: ${row.children} child process(es) left while idle (expected none)`);
  if (!stillInstalled)
    row.notes.push(
      `BUG: Kata not installed after SIGTERM without API access (status exit ${after.exitCode}, kata-qemu in config: ` +
        `${/kata-qemu/.test(after.config)}, /opt/kata: ${after.optKata})`,
    );
  if (lines.some((line) => /uninstall/i.test(line.msg ?? '') && !/leaving Kata installed/.test(line.msg)))
    row.notes.push('BUG: the log mentions an uninstall');
  const exitLine = lines.find((line) => line.msg === 'kata-deploy daemon exiting');
  row.daemonExit = exitLine?.exit;
  row.outcome = lines.find((line) => typeof line.outcome === 'string')?.outcome;
  if (row.outcome !== 'installed')
    row.notes.push(`install outcome ${row.outcome}, expected a real install (installed)`);
  if (row.daemonExit !== 'left-installed') row.notes.push(`daemon exit kind ${row.daemonExit}`);
  const uninstall = await node.run(
    [
      ...cli,
      'uninstall',
      '--systemd-socket',
      node.systemdSocket,
      '--containerd-binary',
      CONTAINERD,
      '--log-format',
      'json',
    ],
    { timeoutMs: 120_000 },
  );
  if (uninstall.exitCode !== 0)
    throw new Error(`${label}: kata-deploy uninstall exited ${uninstall.exitCode}:\n${uninstall.stderr}`);
  const cleaned = await node.readFile('/etc/containerd/config.toml');
  if (/kata/.test(cleaned ?? '') || (await node.stat('/opt/kata')).exists)
    throw new Error(`${label}: uninstall left Kata behind:\n${cleaned}`);
  return row;
}

const unsupported = throwawayNodeUnsupported();
if (unsupported !== undefined) {
  console.log(`daemon-rss: skipped, the throwaway node ${unsupported}`);
  process.exit(0);
}
const bundling = spawnSync(process.execPath, [path.join(repo, 'scripts/bundle.mjs')], { cwd: repo, stdio: 'inherit' });
if (bundling.status !== 0) throw new Error(`scripts/bundle.mjs exited ${bundling.status}`);
if (WITH_STANDALONE) {
  const building = spawnSync(process.execPath, [path.join(repo, 'scripts/standalone.mjs')], {
    cwd: repo,
    stdio: 'inherit',
  });
  if (building.status !== 0) throw new Error(`scripts/standalone.mjs exited ${building.status}`);
}
const payload = benchPayload('5M', 120);
const containerdVersion = spawnSync(CONTAINERD, ['--version'], { encoding: 'utf8' }).stdout.trim().split(' ')[2];

// Each measured daemon: its key, how it is started (before `daemon ...`), how status/uninstall run it.
const daemons = [
  ['bundle', [process.execPath, ...IMAGE_FLAGS, ...PROBE, BUNDLE], [process.execPath, BUNDLE]],
  ['bundle-plain', [process.execPath, ...PROBE, BUNDLE], [process.execPath, BUNDLE]],
  ['dist', [process.execPath, ...PROBE, DIST], [process.execPath, DIST]],
  ...(WITH_STANDALONE ? [['standalone', [STANDALONE], [STANDALONE]]] : []),
  ...(NODE_FLAGS.length > 0 ? [['flags', [process.execPath, ...NODE_FLAGS, BUNDLE], [process.execPath, BUNDLE]]] : []),
];
const node = await startThrowawayNode({ containerd: CONTAINERD, config: RUNC_ONLY });
const rows = Object.fromEntries([...daemons.map(([key]) => key), 'floor', 'bare'].map((key) => [key, []]));
try {
  const logFile = path.join(node.stateDir, 'measured.log');
  const daemonArgs = [
    'daemon',
    '--systemd-socket',
    node.systemdSocket,
    '--payload',
    payload,
    '--shims',
    'qemu clh',
    '--containerd-binary',
    CONTAINERD,
    '--log-format',
    'json',
  ];
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const [key, start, cli] of daemons) {
      const argv = [...start, ...daemonArgs, '--health-port', '@PORT'];
      rows[key].push(await measure(node, key, argv, { daemon: true, cli, logFile }));
    }
    const floor = [process.execPath, ...PROBE, '-e', FLOOR_SOURCE, '@PORT'];
    rows.floor.push(await measure(node, 'floor', floor, { daemon: false, serves: true, logFile }));
    rows.bare.push(
      await measure(node, 'bare', [process.execPath, ...PROBE, '-e', 'setInterval(()=>{},1000)'], {
        daemon: false,
        logFile,
      }),
    );
  }
} finally {
  await node.stop();
}

const mib = (kib) => (kib / 1024).toFixed(1);
const bareRss = median(rows.bare.map((row) => row.rssKiB));
const names = {
  bundle: `kata-deploy daemon, bundle as the image runs it (node ${IMAGE_FLAGS.join(' ')} kata-deploy.mjs daemon)`,
  'bundle-plain': 'kata-deploy daemon, bundle without flags (node dist/bundle/kata-deploy.mjs daemon)',
  dist: 'kata-deploy daemon, unbundled (node dist/cli/main.js daemon)',
  standalone: 'kata-deploy daemon, standalone binary (dist/standalone/kata-deploy daemon)',
  flags: `kata-deploy daemon, bundle with ${NODE_FLAGS.join(' ')}`,
  floor: 'floor: node:http serving the probes after one IPC child came and went',
  bare: 'bare node -e "setInterval(()=>{},1000)"',
};
const keys = Object.keys(rows);
const daemonRows = daemons.flatMap(([key]) => rows[key]);
console.log(
  `daemon-rss: ${ROUNDS} round(s), idle ${IDLE_SECONDS} s after /readyz 200, Node ${process.version}, containerd ` +
    `${containerdVersion}, payload ${path.basename(payload)}, shims "qemu clh", no API access; ` +
    `load ${loadAverage()}; ` +
    `the supervisor's flags from scripts/image/runtime.list: ${IMAGE_FLAGS.join(' ') || '(none)'}`,
);
console.log(
  '| process | VmRSS MiB (median; min–max) | VmHWM MiB (median) | RssAnon MiB (median) | ' +
    'ratio to bare node (VmRSS) |',
);
console.log('| --- | --- | --- | --- | --- |');
for (const key of keys) {
  const rss = rows[key].map((row) => row.rssKiB);
  const med = median(rss);
  console.log(
    `| ${names[key]} | ${mib(med)} (${mib(Math.min(...rss))}–${mib(Math.max(...rss))}) | ` +
      `${mib(median(rows[key].map((row) => row.hwmKiB)))} | ${mib(median(rows[key].map((row) => row.anonKiB)))} | ` +
      `${(med / bareRss).toFixed(2)} |`,
  );
}
console.log(`\nidle daemons had ${daemonRows.every((row) => row.children === 0) ? 'no' : 'SOME'} child process left`);
if (HEAP) {
  console.log(
    '\n| process (RSS_HEAP=1, last sample) | V8 heapUsed MiB | heapTotal MiB | external MiB | arrayBuffers MiB |',
  );
  console.log('| --- | --- | --- | --- | --- |');
  for (const key of keys) {
    const heap = rows[key].at(-1).heap;
    const b = (bytes) => (bytes / 1048576).toFixed(1);
    console.log(
      heap === undefined
        ? `| ${names[key]} | no sample | | | |`
        : `| ${names[key]} | ${b(heap.heapUsed)} | ${b(heap.heapTotal)} | ${b(heap.external)} | ` +
            `${b(heap.arrayBuffers)} |`,
    );
  }
}
const problems = daemonRows.flatMap((row) => row.notes.map((note) => `${row.label}: ${note}`));
const outcomes = daemonRows.map((row) => `${row.label} ${row.outcome} then exit ${row.exit} (${row.daemonExit})`);
console.log(
  `\nafter SIGTERM without API access: ${outcomes.join(', ')}; ` +
    `Kata still installed each time: ${problems.length === 0 ? 'yes' : 'NO'}; cleaned up with kata-deploy uninstall`,
);
if (problems.length > 0) {
  for (const problem of problems) console.error(problem);
  process.exitCode = 1;
}
