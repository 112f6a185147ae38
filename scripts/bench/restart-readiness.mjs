// Restart request → kata handlers live in CRI Status, per containerd generation, on a throwaway node
// (real systemd user manager, real containerd as containerd.service). Each round writes a config with
// a different kata handler, restarts over D-Bus, and polls CRI until that handler is served.
// Runs from the compiled dist/ (npm run bench builds first).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { connectSystemd } from '../../dist/systemd/systemd-client.js';
import { socketProbe, waitForHandlers } from '../../dist/containerd/readiness.js';
import { systemClock } from '../../dist/host/clock.js';
import { silentLogger } from '../../dist/host/logger.js';
import { startThrowawayNode, throwawayNodeUnsupported } from '../../test/helpers/throwaway-node/node.mjs';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const repo = path.resolve(import.meta.dirname, '../..');
const binaries = [
  '/usr/bin/containerd',
  ...['trixie', 'sid'].map((suite) => path.join(repo, '.cache/containerd', suite, 'usr/bin/containerd')),
]
  .filter((file) => existsSync(file))
  .map((file) => ({
    file,
    version: /\s(\d+\.\d+\.\d+)/.exec(execFileSync(file, ['--version'], { encoding: 'utf8' }))?.[1] ?? '?',
  }));

const config = (handler) => `version = 2
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.${handler}]
  runtime_type = "io.containerd.${handler}.v2"
`;

const stats = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { min: sorted[0], median: at(0.5), p90: at(0.9), max: sorted.at(-1) };
};

const missing = throwawayNodeUnsupported();
if (missing !== undefined || binaries.length === 0) {
  const why = 'no containerd binary (apt-get install containerd; bash scripts/ci/containerd-binaries.sh)';
  console.log(`skipped: ${missing ?? why}`);
  process.exit(0);
}

const rows = [];
for (const { file, version } of binaries) {
  const node = await startThrowawayNode({ containerd: file, config: config('kata-qemu') });
  const systemd = await connectSystemd(node.systemdSocket, silentLogger());
  try {
    const jobMs = [];
    const liveMs = [];
    for (let round = 0; round < ROUNDS; round++) {
      const handler = `kata-bench${round}`;
      await node.writeFile('/etc/containerd/config.toml', config(handler));
      const started = performance.now();
      const outcome = await systemd.restartUnit('containerd.service', 20_000);
      const jobDone = performance.now();
      const readiness = await waitForHandlers(
        socketProbe(node.containerdSocket),
        ['runc', handler],
        20_000,
        systemClock,
        silentLogger(),
        { intervalMs: 5 },
      );
      const live = performance.now();
      if (outcome.result !== 'done' || !readiness.ready)
        throw new Error(`containerd ${version}: round ${round} failed: ${outcome.result} ${readiness.reason ?? ''}`);
      jobMs.push(jobDone - started);
      liveMs.push(live - started);
    }
    const job = stats(jobMs);
    const live = stats(liveMs);
    rows.push({
      containerd: version,
      rounds: ROUNDS,
      'job done median ms': job.median.toFixed(0),
      'handlers live median ms': live.median.toFixed(0),
      'live p90 ms': live.p90.toFixed(0),
      'live min–max ms': `${live.min.toFixed(0)}–${live.max.toFixed(0)}`,
    });
  } finally {
    systemd.close();
    await node.stop();
  }
}
console.log('restart request → kata handlers live in CRI Status (systemd user manager, poll every 5 ms)');
console.table(rows);
