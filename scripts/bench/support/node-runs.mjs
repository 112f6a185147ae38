// Whole-process runs inside a throwaway node for the payload benchmark: the real CLI and the GNU pipeline,
// each timed from here the same way (one agent round trip, ~1 ms, in both), with the peak RSS and bytes
// written that the kernel accounted to the run.
import path from 'node:path';
import { settle } from './figures.mjs';

const repo = path.resolve(import.meta.dirname, '../../..');
const CLI = path.join(repo, 'dist/cli/main.js');

/**
 * Runs argv under GNU time (peak RSS of the largest process of the run, from wait4) and a shell that prints
 * its own /proc/<pid>/io after the command: the kernel adds a reaped child's I/O counters to its parent's,
 * so write_bytes and wchar cover the command and everything it started.
 */
const MEASURED = [
  'sh',
  '-c',
  '/usr/bin/time -f "maxrss_kb=%M cpu_s=%U+%S" -o "$0" "$@"; rc=$?; cat /proc/$$/io >>"$0"; exit $rc',
];

function parseMeasures(text) {
  const figure = (key) => Number(new RegExp(`${key}[=:]\\s*(\\d+)`).exec(text)?.[1]);
  const cpu = /cpu_s=([\d.]+)\+([\d.]+)/.exec(text);
  return {
    cpuSeconds: cpu === null ? Number.NaN : Number(cpu[1]) + Number(cpu[2]),
    maxRssMb: figure('maxrss_kb') / 1024,
    writeBytes: figure('write_bytes'),
    wchar: figure('wchar'),
  };
}

/** One measured command in the node: wall seconds (timed here), exit, output, peak RSS and bytes written. */
async function measuredRun(node, argv) {
  const report = `/tmp/kata-bench-${process.pid}-${Math.random().toString(36).slice(2)}`;
  settle();
  const started = performance.now();
  const run = await node.run([...MEASURED, report, ...argv], { timeoutMs: 300_000 });
  const seconds = (performance.now() - started) / 1000;
  const text = (await node.readFile(report)) ?? '';
  await node.run(['rm', '-f', report]);
  return { seconds, ...run, ...parseMeasures(text) };
}

/** `<tool> -dc FILE | tar -x` into a fresh dir of the node's /opt tmpfs (where /opt/kata lands), then removed. */
export async function gnuPipeline(node, payload, decompressor) {
  await node.run(['mkdir', '-p', '/opt/tar-baseline']);
  const run = await measuredRun(node, [
    'sh',
    '-c',
    `${decompressor} -dc -q "$1" | tar -x -C /opt/tar-baseline`,
    'sh',
    payload,
  ]);
  if (run.exitCode !== 0) throw new Error(`${decompressor} | tar exited ${run.exitCode}: ${run.stderr}`);
  await node.run(['rm', '-rf', '/opt/tar-baseline']);
  return run;
}

/**
 * `kata-deploy <command>` in the node with `--restart none`: the whole process, start to exit. `cli` is a
 * script for the bench's Node or an executable; `cpuProf` names a dir for V8's --cpu-prof output (scripts only).
 */
export async function cliRun(node, command, { payload, containerd, sha256, cpuProf, cli = CLI }) {
  // BENCH_COMPILE_CACHE=1: the CLI's opt-in compile cache (KATA_DEPLOY_COMPILE_CACHE=1) in the node.
  const cache = process.env.BENCH_COMPILE_CACHE === '1' ? ['env', 'KATA_DEPLOY_COMPILE_CACHE=1'] : [];
  // A script runs on the bench's Node 24; anything else is an executable (the standalone binary).
  const script = /\.(c|m)?js$/.test(cli);
  const start = script
    ? [process.execPath, ...(cpuProf === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', cpuProf]), cli]
    : [cli];
  const argv = [
    ...cache,
    ...start,
    command,
    '--systemd-socket',
    node.systemdSocket,
    '--payload',
    payload,
    '--containerd-binary',
    containerd,
    '--restart',
    'none',
    '--log-format',
    'json',
    '--json',
    ...(sha256 === undefined ? [] : ['--payload-sha256', sha256]),
    // BENCH_DEBUG_LOG=1: debug log lines (timestamps of each phase) on the run's stderr.
    ...(process.env.BENCH_DEBUG_LOG ? ['--log-level', 'debug'] : []),
  ];
  const run = await measuredRun(node, argv);
  if (run.exitCode !== 0) throw new Error(`kata-deploy ${command} exited ${run.exitCode}:\n${run.stderr}`);
  if (process.env.BENCH_DEBUG_LOG) console.log(`  ${command} ${run.seconds.toFixed(3)} s: ${phaseLine(run.stderr)}`);
  return { ...run, result: JSON.parse(run.stdout) };
}

/** The debug log's lines as `<ms since process start> <message>`, one run on one line. */
function phaseLine(stderr) {
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line))
    .filter((entry) => entry.atMs !== undefined)
    .map((entry) => `${entry.atMs} ${entry.msg.replace(/^phase: /, '')}`)
    .join(' | ');
}

/** Every path the install touches in the node, with ctime, mtime and inode: any write, chmod or rename shows. */
export async function nodeStamps(node) {
  const dirs = ['/opt', '/etc/containerd', '/var/lib/kata-deploy'];
  const run = await node.run(['find', ...dirs, '-printf', '%p %C@ %T@ %i\\n']);
  if (run.exitCode !== 0) throw new Error(`find exited ${run.exitCode}: ${run.stderr}`);
  return new Map(
    run.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const cut = line.indexOf(' ');
        return [line.slice(0, cut), line.slice(cut + 1)];
      }),
  );
}

/** How many paths differ between two stamp maps (created, changed or removed). */
export function changedPaths(before, after) {
  return [...new Set([...before.keys(), ...after.keys()])].filter((key) => before.get(key) !== after.get(key)).length;
}
