// Two builds of the CLI on one fresh throwaway node, alternating with the GNU pipeline in every round, so a
// change is judged against its parent in the same run (the machine is shared; absolute times drift):
// whole install (--restart none), its CPU seconds and peak RSS, and the converged reinstall, per build.
//
//   node scripts/bench/support/compare-builds.mjs /path/to/other-checkout/dist/cli/main.js [rounds] [payload]
import path from 'node:path';
import { startThrowawayNode } from '../../../test/helpers/throwaway-node/node.mjs';
import { benchPayload } from './bench-payload.mjs';
import { median, printTable } from './figures.mjs';
import { cliRun, gnuPipeline } from './node-runs.mjs';

const repo = path.resolve(import.meta.dirname, '../../..');
const [other, roundsText = '5', payloadArg] = process.argv.slice(2);
if (other === undefined) throw new Error('usage: compare-builds.mjs <other dist/cli/main.js> [rounds] [payload]');
const builds = { other: path.resolve(other), this: path.join(repo, 'dist/cli/main.js') };
const payload = payloadArg === undefined ? benchPayload('600M', 2000) : path.resolve(payloadArg);
const containerd = process.env.BENCH_CONTAINERD ?? '/usr/bin/containerd';
const OPERATOR_CONFIG = `version = 2
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
`;

const figures = { gnu: [], gnuCpu: [] };
for (const name of Object.keys(builds))
  Object.assign(figures, { [name]: [], [`${name}Cpu`]: [], [`${name}Rss`]: [], [`${name}Again`]: [] });
const node = await startThrowawayNode({ containerd, config: OPERATOR_CONFIG });
// As in payload.mjs: a Kata node has its modules loaded, and without vhost_vsock install refuses.
await node.run([
  'sh',
  '-c',
  'mkdir -p /sys/module/kvm_intel /sys/module/vhost /sys/module/vhost_net /sys/module/vhost_vsock',
]);
try {
  for (let round = 0; round < Number(roundsText); round += 1) {
    const gnu = await gnuPipeline(node, payload, payload.endsWith('.xz') ? 'xz' : 'zstd');
    figures.gnu.push(gnu.seconds);
    figures.gnuCpu.push(gnu.cpuSeconds);
    for (const [name, cli] of Object.entries(builds)) {
      const first = await cliRun(node, 'install', { payload, containerd, cli });
      const again = await cliRun(node, 'install', { payload, containerd, cli });
      await cliRun(node, 'uninstall', { payload, containerd, cli });
      figures[name].push(first.seconds);
      figures[`${name}Cpu`].push(first.cpuSeconds);
      figures[`${name}Rss`].push(first.maxRssMb);
      figures[`${name}Again`].push(again.seconds);
    }
  }
} finally {
  await node.stop();
}
const s = (values) => median(values).toFixed(2);
const gnu = median(figures.gnu);
printTable(
  Object.keys(builds).flatMap((name) => [
    [
      `${name}: whole install, s`,
      s(figures[name]),
      `${gnu.toFixed(2)} (GNU pipeline)`,
      (median(figures[name]) / gnu).toFixed(2),
    ],
    [`${name}:   CPU seconds`, s(figures[`${name}Cpu`]), `${s(figures.gnuCpu)} (GNU pipeline)`, '-'],
    [`${name}:   peak RSS, MB`, s(figures[`${name}Rss`]), '-', '-'],
    [`${name}: converged reinstall, s`, s(figures[`${name}Again`]), '-', '-'],
  ]),
);
for (const [key, values] of Object.entries(figures))
  console.log(`${key}: ${values.map((v) => v.toFixed(2)).join(' ')}`);
