// The DaemonSet's pod as the kubelet runs it (test/helpers/kubelet-standin.ts), on each nspawn node kind:
// time from pod start to ready, and the daemon's idle RSS in that pod. Beside it, in the same run and the
// same pod set-up, a bare `node -e "setInterval(() => {}, 1000)"` from the same image: the baseline.
//
//   npm run bench -- pod              (POD_KINDS="containerd-1.6 k3s" POD_SAMPLES=5 to change)
//
// "ready (kubelet)" is when the readiness probe first passed, polled every periodSeconds as the manifest
// says (5 s), so it is rounded up to that period; "/readyz 200" is the daemon's own moment, polled every
// 5 ms by this script from the daemon's log line. The daemon runs as the image's entrypoint says
// (scripts/image/runtime.list, with the supervisor's Node/V8 flags); the figures name those flags.
// RSS is VmRSS of the pod's main process (PID 1 of its PID namespace), sampled once a second after ready;
// VmHWM is the peak it reached.
import { readFileSync } from 'node:fs';
import { registerHooks } from 'node:module';

// The helpers are TypeScript run by Node's type stripping; their imports say `.js` (for tsc). Those of src/
// load the build in dist/ (`npm run bench` builds first; src/ uses syntax type stripping cannot run).
const SRC = new URL('../../src/', import.meta.url).href;
const DIST = new URL('../../dist/', import.meta.url).href;
registerHooks({
  resolve(specifier, context, next) {
    if (specifier.startsWith('.') && context.parentURL !== undefined) {
      const target = new URL(specifier, context.parentURL).href;
      if (target.startsWith(SRC)) return next(DIST + target.slice(SRC.length), context);
    }
    try {
      return next(specifier, context);
    } catch (error) {
      if (!specifier.endsWith('.js')) throw error;
      return next(`${specifier.slice(0, -3)}.ts`, context);
    }
  },
});

const { FakeKubeApi } = await import('../../test/helpers/fake-kube-api.ts');
const { startPodTestbed } = await import('../../test/helpers/kubelet/pod-testbed.ts');
const { nspawnNodeUnsupported } = await import('../../test/helpers/nspawn-node.ts');
const { samplePayload } = await import('../../test/helpers/sample-payload.ts');
const { loadAverage, median } = await import('./support/figures.mjs');
const { imageSupervisorFlags } = await import('./support/image-entrypoint.mjs');

const KINDS = (process.env.POD_KINDS ?? 'containerd-1.6 containerd-2.1 k3s').split(/\s+/).filter(Boolean);
const SAMPLES = Number(process.env.POD_SAMPLES ?? 5);
const IMAGE = 'kata-deploy-ts:latest';
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function status(pid) {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? Number.NaN);
  return { rss: kib('VmRSS') / 1024, hwm: kib('VmHWM') / 1024 };
}

async function rssSamples(pod) {
  const samples = [];
  for (let i = 0; i < SAMPLES; i += 1) {
    await sleep(1000);
    samples.push(status(pod.mainPid()));
  }
  return { rss: median(samples.map((s) => s.rss)), hwm: Math.max(...samples.map((s) => s.hwm)) };
}

// When the daemon turned /readyz 200: the moment it logs so (it logs right after), read from the pod's output
// on this side. Polling /readyz every 50 ms instead made the daemon serve ~100 requests in its first seconds,
// which grew its heap by ~3 MiB and showed in the idle figure; the kubelet's probe comes every 5 s.
async function readyzAt(pod) {
  await pod.logLine(/Kata is installed and the node labelled/);
  return performance.now();
}

/** A pod of the same image running only a bare Node process (no probes): the RSS baseline. */
function bareNodeDaemonSet(daemonSet) {
  const next = structuredClone(daemonSet);
  const container = next.spec.template.spec.containers[0];
  container.command = ['node', '-e', 'setInterval(() => {}, 1000)'];
  delete container.readinessProbe;
  delete container.livenessProbe;
  return next;
}

const unsupported = nspawnNodeUnsupported();
if (unsupported !== undefined) {
  console.log(`skipped: ${unsupported}`);
  process.exit(0);
}
const api = await new FakeKubeApi().start();
const rows = [];
try {
  for (const kind of KINDS) {
    const bed = await startPodTestbed(kind, api, { [IMAGE]: samplePayload() });
    try {
      const pod = await bed.startPod();
      const created = pod.eventAt('created');
      const readyz = await readyzAt(pod);
      if (!(await pod.whenReady())) throw new Error(`not ready:\n${pod.logs().slice(-3000)}`);
      const daemon = await rssSamples(pod);
      bed.deleteDaemonSet();
      await pod.terminate();
      const bare = await bed.startPodOf(bareNodeDaemonSet(bed.manifest()));
      await sleep(500);
      const baseline = await rssSamples(bare);
      bare.kill();
      await bare.exited;
      rows.push({
        kind,
        readyz: readyz - created,
        ready: pod.eventAt('ready') - created,
        rss: daemon.rss,
        hwm: daemon.hwm,
        bare: baseline.rss,
      });
    } finally {
      await bed.stop();
    }
  }
} finally {
  await api.stop();
}

const pad = (text, width) => String(text).padEnd(width);
console.log(
  `pod figures (${SAMPLES} RSS samples after ready, 1 s apart; load ${loadAverage()}; the supervisor's flags ` +
    `from scripts/image/runtime.list: ${imageSupervisorFlags().join(' ') || '(none)'})`,
);
console.log(
  [pad('node', 16), pad('/readyz 200', 12), pad('ready (kubelet)', 16), pad('idle VmRSS', 11), pad('VmHWM', 9)]
    .concat(['bare node', 'ratio'])
    .join(' '),
);
for (const row of rows) {
  console.log(
    [
      pad(row.kind, 16),
      pad(`${(row.readyz / 1000).toFixed(2)} s`, 12),
      pad(`${(row.ready / 1000).toFixed(2)} s`, 16),
      pad(`${row.rss.toFixed(1)} MiB`, 11),
      pad(`${row.hwm.toFixed(1)} MiB`, 9),
      pad(`${row.bare.toFixed(1)} MiB`, 9),
      `${(row.rss / row.bare).toFixed(2)}x`,
    ].join(' '),
  );
}
