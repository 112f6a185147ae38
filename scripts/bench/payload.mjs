// Payload benchmark (issue 3): unpack + install of a ~600 MB, ~2,000-file kata-static-shaped .tar.zst
// against `zstd -dc | tar -x` (GNU tar) on the same archive in the same run, alternating, median of
// ROUNDS; peak RSS of the installing process for two payload sizes; a second install of the same
// payload (time and bytes written). Runs the compiled dist/ (`npm run bench` builds first).
//
//   node scripts/bench/payload.mjs            (ROUNDS=5 BENCH_SIZE=600M BENCH_FILES=2000 to change)
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { benchPayload as payload } from './support/bench-payload.mjs';
import { loadAverage, median, printTable, settle } from './support/figures.mjs';

const repo = path.resolve(import.meta.dirname, '../..');
const scratch = path.join(repo, '.cache/bench-scratch');
const rounds = Number(process.env.ROUNDS ?? 5);
const child = path.join(import.meta.dirname, 'support/payload-child.mjs');

async function sha256(file) {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk);
  return hash.digest('hex');
}

function freshDir(name) {
  const dir = mkdtempSync(path.join(scratch, `${name}-`));
  return dir;
}

/** `zstd -dc FILE | tar -x -C DIR`, wired with real pipes (no shell), wall time in seconds. */
function baseline(file) {
  const dir = freshDir('tar');
  settle();
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const zstd = spawn('zstd', ['-dc', '-q', file], { stdio: ['ignore', 'pipe', 'inherit'] });
    const tar = spawn('tar', ['-x', '-C', dir], { stdio: [zstd.stdout, 'inherit', 'inherit'] });
    tar.on('exit', (code) => {
      const seconds = (performance.now() - started) / 1000;
      rmSync(dir, { recursive: true, force: true });
      if (code !== 0) reject(new Error(`tar exited ${code}`));
      else resolve(seconds);
    });
  });
}

/** One install in a child process; wall time measured here (Node start-up included) and inside. */
function install(root, file, sha) {
  settle();
  const started = performance.now();
  const result = spawnSync(process.execPath, [child, root, file, sha ?? '-'], { encoding: 'utf8' });
  const wall = (performance.now() - started) / 1000;
  if (result.status !== 0) throw new Error(`install child failed: ${result.stderr}`);
  return { wall, ...JSON.parse(result.stdout.trim().split('\n').pop()) };
}

/** Every path under a dir with its ctime and mtime: any write, chmod, rename or unlink changes the map. */
function stamps(dir) {
  const out = new Map();
  const walk = (rel) => {
    for (const entry of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const childRel = path.join(rel, entry.name);
      const stats = lstatSync(path.join(dir, childRel));
      out.set(childRel, `${stats.ctimeMs}:${stats.mtimeMs}:${stats.ino}`);
      if (entry.isDirectory()) walk(childRel);
    }
  };
  walk('');
  return out;
}

mkdirSync(scratch, { recursive: true });
try {
  const big = payload(process.env.BENCH_SIZE ?? '600M', Number(process.env.BENCH_FILES ?? 2000));
  const small = payload('150M', 500);
  const digest = await sha256(big);
  const tar = [];
  const ours = [];
  const oursInner = [];
  const oursVerified = [];
  let rss = 0;
  let second;
  for (let round = 0; round < rounds; round += 1) {
    tar.push(await baseline(big));
    const root = freshDir('root');
    const first = install(root, big);
    ours.push(first.wall);
    oursInner.push(first.seconds);
    rss = Math.max(rss, first.maxRssMb);
    if (round === 0) {
      const before = stamps(root);
      second = install(root, big);
      const after = stamps(root);
      second.filesChanged = [...new Set([...before.keys(), ...after.keys()])].filter(
        (key) => before.get(key) !== after.get(key),
      ).length;
    }
    rmSync(root, { recursive: true, force: true });
    const verifiedRoot = freshDir('root');
    oursVerified.push(install(verifiedRoot, big, digest).wall);
    rmSync(verifiedRoot, { recursive: true, force: true });
  }
  const smallRoot = freshDir('root');
  const smallRun = install(smallRoot, small);
  rmSync(smallRoot, { recursive: true, force: true });

  const tarMedian = median(tar);
  const rows = [
    [
      'unpack+install 600 MB .tar.zst, s (median, whole process)',
      median(ours).toFixed(2),
      `${tarMedian.toFixed(2)} (zstd -dc | tar -x)`,
      (median(ours) / tarMedian).toFixed(2),
    ],
    [
      '  same, stage+commit only (no Node start-up/imports), s',
      median(oursInner).toFixed(2),
      `${tarMedian.toFixed(2)} (zstd -dc | tar -x)`,
      (median(oursInner) / tarMedian).toFixed(2),
    ],
    [
      '  same, with --payload-sha256 verified, s',
      median(oursVerified).toFixed(2),
      `${tarMedian.toFixed(2)} (no checksum)`,
      (median(oursVerified) / tarMedian).toFixed(2),
    ],
    ['peak RSS, 600 MB payload, MB', rss.toFixed(0), '150 (limit)', (rss / 150).toFixed(2)],
    [
      'peak RSS, 150 MB payload, MB',
      smallRun.maxRssMb.toFixed(0),
      `${rss.toFixed(0)} (600 MB payload)`,
      (smallRun.maxRssMb / rss).toFixed(2),
    ],
    ['second install of same payload, s', second.wall.toFixed(2), '1.00 (limit)', second.wall.toFixed(2)],
    [
      '  same, inside the process (no Node start-up), s',
      second.seconds.toFixed(3),
      '1.00 (limit)',
      second.seconds.toFixed(3),
    ],
    [
      'second install: bytes written (/proc/<pid>/io write_bytes)',
      String(second.writeBytes),
      '0',
      second.writeBytes === 0 ? '-' : 'FAIL',
    ],
    [
      'second install: paths created/changed/removed under host root',
      String(second.filesChanged),
      '0',
      second.filesChanged === 0 ? '-' : 'FAIL',
    ],
  ];
  console.log(
    `payload: ${path.relative(repo, big)}; rounds: ${rounds}; GNU tar runs: ` +
      `${tar.map((s) => s.toFixed(2)).join(' ')}; ours: ${ours.map((s) => s.toFixed(2)).join(' ')}`,
  );
  console.log(
    `machine load average at the end: ${loadAverage()} (other processes share these cores; rerun when it is high)`,
  );
  printTable(rows);
  const ok =
    median(ours) / tarMedian <= 1.3 &&
    rss <= 150 &&
    second.wall <= 1 &&
    second.writeBytes === 0 &&
    second.filesChanged === 0 &&
    second.unchanged;
  console.log(ok ? 'payload targets met' : 'payload targets NOT met');
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
