// Payload benchmark (issue 15): the whole `kata-deploy install --restart none` process (start to exit:
// node detected, handlers planned and validated by containerd, payload staged and switched, configs
// written) on a fresh throwaway node, against `zstd -dc | tar -x` of the same file into the same tmpfs
// (the node's /opt), alternating, median of ROUNDS with the spread of the pair-by-pair ratios; peak RSS
// beside each; a converged reinstall (time, bytes written, paths changed); a .tar.xz payload against
// `xz -dc | tar -x`; and, in a plain process on a disk-backed root, the second install's write_bytes.
// Runs the compiled dist/ (`npm run bench` builds first).
//
//   npm run bench -- payload   (ROUNDS=5 XZ_ROUNDS=3 BENCH_SIZE=600M BENCH_FILES=2000
//                               BENCH_CONTAINERD=/usr/bin/containerd BENCH_CPU_PROF=<dir> to change;
//                               BENCH_CLI=dist/bundle/kata-deploy.mjs measures the image's bundle, after
//                               `npm run bundle`)
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { startThrowawayNode, throwawayNodeUnsupported } from '../../test/helpers/throwaway-node/node.mjs';
import { benchPayload } from './support/bench-payload.mjs';
import { loadAverage, median, printTable } from './support/figures.mjs';
import { changedPaths, cliRun, gnuPipeline, nodeStamps } from './support/node-runs.mjs';

const repo = path.resolve(import.meta.dirname, '../..');
const rounds = Number(process.env.ROUNDS ?? 5);
const xzRounds = Number(process.env.XZ_ROUNDS ?? 3);
const containerd = process.env.BENCH_CONTAINERD ?? '/usr/bin/containerd';
const cli = process.env.BENCH_CLI === undefined ? {} : { cli: path.resolve(repo, process.env.BENCH_CLI) };
const cpuProf = process.env.BENCH_CPU_PROF === undefined ? undefined : path.resolve(process.env.BENCH_CPU_PROF);
const size = process.env.BENCH_SIZE ?? '600M';
const files = Number(process.env.BENCH_FILES ?? 2000);
const OPERATOR_CONFIG = `version = 2
[plugins."io.containerd.grpc.v1.cri".containerd]
  default_runtime_name = "runc"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
`;

const missing = throwawayNodeUnsupported();
if (missing !== undefined) {
  console.log(`skipped: ${missing}`);
  process.exit(0);
}

const s = (value) => value.toFixed(2);
const mb = (value) => value.toFixed(0);
const spread = (values) => `${s(Math.min(...values))}–${s(Math.max(...values))}`;
const sha256 = (file) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** Alternating rounds of the GNU pipeline and our install (then an untimed uninstall): figures per run. */
async function pairedRounds(node, payload, decompressor, count, extra = {}) {
  const out = { tar: [], ours: [], ratios: [], tarRss: [], oursRss: [], tarCpu: [], oursCpu: [], reinstalls: [] };
  for (let round = 0; round < count; round += 1) {
    const tar = await gnuPipeline(node, payload, decompressor);
    const ours = await cliRun(node, 'install', { payload, containerd, ...cli, ...extra });
    if (!ours.result.payload?.changed) throw new Error('a first install reported the payload unchanged');
    out.tar.push(tar.seconds);
    out.ours.push(ours.seconds);
    out.ratios.push(ours.seconds / tar.seconds);
    out.tarRss.push(tar.maxRssMb);
    out.oursRss.push(ours.maxRssMb);
    out.tarCpu.push(tar.cpuSeconds);
    out.oursCpu.push(ours.cpuSeconds);
    if (extra.reinstall) out.reinstalls.push(await reinstall(node, payload));
    await cliRun(node, 'uninstall', { payload, containerd, ...cli });
  }
  return out;
}

/** The same install again on the installed node: it must converge without writing anything. */
async function reinstall(node, payload) {
  const before = await nodeStamps(node);
  const again = await cliRun(node, 'install', { payload, containerd, ...cli });
  const after = await nodeStamps(node);
  return { ...again, filesChanged: changedPaths(before, after), converged: again.result.payload?.changed === false };
}

/** A second payload install in plain processes on a disk-backed root: write_bytes means disk here, not tmpfs. */
function diskSecondInstall(payload) {
  const scratch = path.join(repo, '.cache/bench-scratch');
  mkdirSync(scratch, { recursive: true });
  const root = mkdtempSync(path.join(scratch, 'root-'));
  const child = path.join(import.meta.dirname, 'support/payload-child.mjs');
  const once = () => {
    const result = spawnSync(process.execPath, [child, root, payload, '-'], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`payload child failed: ${result.stderr}`);
    return JSON.parse(result.stdout.trim().split('\n').pop());
  };
  try {
    once();
    spawnSync('sync');
    return once();
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

const big = benchPayload(size, files);
const bigXz = xzRounds > 0 ? benchPayload(size, files, 'xz') : undefined;
const small = benchPayload('150M', 500);
const digest = sha256(big);
const begun = performance.now();
const node = await startThrowawayNode({ containerd, config: OPERATOR_CONFIG });
// A Kata node has its modules loaded; --restart none loads nothing, and without vhost_vsock install refuses.
await node.run([
  'sh',
  '-c',
  'mkdir -p /sys/module/kvm_intel /sys/module/vhost /sys/module/vhost_net /sys/module/vhost_vsock',
]);
let zst;
let verified;
let xz;
let smallRun;
try {
  await pairedRounds(node, big, 'zstd', 1);
  zst = await pairedRounds(node, big, 'zstd', rounds, { reinstall: true, cpuProf });
  verified = await pairedRounds(node, big, 'zstd', Math.min(rounds, 3), { sha256: digest });
  if (bigXz !== undefined) xz = await pairedRounds(node, bigXz, 'xz', xzRounds);
  smallRun = await pairedRounds(node, small, 'zstd', 1);
} finally {
  await node.stop();
}
const disk = diskSecondInstall(big);

const ratio = (figures) => median(figures.ours) / median(figures.tar);
/** The .tar.xz rows, or one row saying they were skipped (XZ_ROUNDS=0). */
function xzRows() {
  if (xz === undefined) return [['whole install, .tar.xz', 'skipped (XZ_ROUNDS=0)', '-', '-']];
  return [
    [
      `whole install, ${size} .tar.xz, s (median of ${xzRounds}; pair ratios ${spread(xz.ratios)})`,
      s(median(xz.ours)),
      `${s(median(xz.tar))} (xz -dc | tar -x)`,
      s(ratio(xz)),
    ],
    [
      '  CPU seconds (median)',
      s(median(xz.oursCpu)),
      `${s(median(xz.tarCpu))} (GNU pipeline)`,
      s(median(xz.oursCpu) / median(xz.tarCpu)),
    ],
    ['  peak RSS, MB', mb(Math.max(...xz.oursRss)), `${mb(Math.max(...xz.tarRss))} (GNU pipeline)`, '-'],
  ];
}

// The median round's reinstall by time; paths changed and convergence are the worst of all rounds.
const again = {
  ...[...zst.reinstalls].sort((a, b) => a.seconds - b.seconds)[Math.floor(zst.reinstalls.length / 2)],
  filesChanged: Math.max(...zst.reinstalls.map((run) => run.filesChanged)),
  converged: zst.reinstalls.every((run) => run.converged),
};
const rssBig = Math.max(...zst.oursRss);
const rssSmall = smallRun.oursRss[0];
const rows = [
  [
    `whole install, ${size} .tar.zst, s (median of ${rounds}; pair ratios ${spread(zst.ratios)})`,
    s(median(zst.ours)),
    `${s(median(zst.tar))} (zstd -dc | tar -x)`,
    s(ratio(zst)),
  ],
  [
    '  CPU seconds, user+sys of the whole process tree (median)',
    s(median(zst.oursCpu)),
    `${s(median(zst.tarCpu))} (GNU pipeline)`,
    s(median(zst.oursCpu) / median(zst.tarCpu)),
  ],
  [
    '  peak RSS, MB (largest process of the run, max of the rounds)',
    mb(rssBig),
    `${mb(Math.max(...zst.tarRss))} (GNU pipeline)`,
    s(rssBig / 150),
  ],
  [
    `  same with --payload-sha256, s (pair ratios ${spread(verified.ratios)})`,
    s(median(verified.ours)),
    `${s(median(verified.tar))} (zstd -dc | tar -x)`,
    s(ratio(verified)),
  ],
  ...xzRows(),
  ['peak RSS, 150 MB payload, MB', mb(rssSmall), `${mb(rssBig)} (${size} payload)`, s(rssSmall / rssBig)],
  [
    `converged reinstall, s (whole process, median of ${rounds})`,
    s(again.seconds),
    '0.30 (limit)',
    s(again.seconds / 0.3),
  ],
  ['  CPU seconds', s(again.cpuSeconds), '-', '-'],
  ['  paths created/changed/removed in the node (max of the rounds)', String(again.filesChanged), '0', '-'],
  ['  wchar (write() bytes incl. its stdout/stderr)', String(again.wchar), '-', '-'],
  ['second payload install on a disk root: write_bytes', String(disk.writeBytes), '0', '-'],
];
const total = ((performance.now() - begun) / 1000).toFixed(0);
console.log(
  `payload ${path.relative(repo, big)}; containerd ${containerd}; CLI ${cli.cli ?? 'dist/cli/main.js'}; ` +
    `total ${total} s`,
);
console.log(`zst rounds, s: GNU ${zst.tar.map(s).join(' ')}; ours ${zst.ours.map(s).join(' ')}`);
if (xz !== undefined) console.log(`xz rounds, s: GNU ${xz.tar.map(s).join(' ')}; ours ${xz.ours.map(s).join(' ')}`);
console.log(`machine load average at the end: ${loadAverage()} (other processes share these cores)`);
printTable(rows);
const ok =
  ratio(zst) <= 1.3 &&
  rssBig <= 150 &&
  again.converged &&
  again.seconds <= 0.3 &&
  again.filesChanged === 0 &&
  disk.unchanged &&
  disk.writeBytes === 0;
console.log(ok ? 'payload targets met' : 'payload targets NOT met');
process.exitCode = ok ? 0 : 1;
