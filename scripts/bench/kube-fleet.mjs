// Fleet benchmark for the Kubernetes side of `kata-deploy daemon`, run from the compiled dist/ (npm run
// bench builds it). 1,000 simulated nodes run the real daemon (claim → install callback → label ready
// → event) through the real @kubernetes/client-node against the local HTTPS fake API server, in
// batches of 100; then each gets SIGTERM with its DaemonSet present (a rolling update). Reports API
// requests per node per phase (goal: at most 6 for install + label) and wall time, and the idle RSS of
// one daemon process next to a bare Node process measured in the same run.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { FakeKubeApi } from '../../test/helpers/fake-kube-api.ts';

const root = path.join(import.meta.dirname, '..', '..');
const dist = (file) => path.join(root, 'dist', file);
const { createKube } = await import(dist('kube/create-kube.js'));
const { runDaemon } = await import(dist('modes/daemon.js'));
const { silentLogger } = await import(dist('host/logger.js'));
const { systemClock } = await import(dist('host/clock.js'));
const { desiredRuntimeClasses } = await import(dist('kube/runtime-classes.js'));
const { DEFAULT_SHIMS } = await import(dist('core/shims.js'));

const NODES = Number(process.env.FLEET_NODES ?? 1000);
const BATCH = 100;
const dir = mkdtempSync(path.join(tmpdir(), 'kata-deploy-bench-'));
const api = await new FakeKubeApi().start();
const kubeconfig = api.writeKubeconfig(path.join(dir, 'kubeconfig'));
api.addDaemonSet('kata-deploy', 'kata-deploy');

const shims = DEFAULT_SHIMS.x86_64;
const guests = new Map(shims.map((shim) => [shim, { memoryMiB: 2048, vcpus: 1 }]));

async function fleet(label, rcSettings) {
  const start = performance.now();
  const counts = { install: 0, sigterm: 0 };
  for (let first = 0; first < NODES; first += BATCH) {
    const names = Array.from({ length: Math.min(BATCH, NODES - first) }, (_, i) => `${label}-${first + i}`);
    for (const name of names) api.addNode(name);
    const before = api.requests.length;
    const terminators = [];
    const runs = [];
    const ready = names.map(
      (name) =>
        new Promise((resolveReady) => {
          let terminate;
          terminators.push(() => terminate());
          const access = createKube({ kubeconfig, nodeName: name }, silentLogger(), {
            serviceAccountDir: path.join(dir, 'none'),
          });
          runs.push(
            runDaemon({
              settings: { multiInstallSuffix: undefined, startupTaints: [] },
              install: async () => ({ kind: 'installed', summary: 'installed' }),
              uninstall: async () => {},
              kube: access,
              daemonSet: { namespace: 'kata-deploy', name: 'kata-deploy' },
              runtimeClasses:
                rcSettings === undefined
                  ? undefined
                  : async () =>
                      desiredRuntimeClasses(
                        { ...rcSettings, shims, defaultShim: 'qemu', multiInstallSuffix: undefined },
                        guests,
                      ),
              healthPort: 0,
              healthHost: '127.0.0.1',
              terminated: new Promise((resolve) => {
                terminate = resolve;
              }),
              clock: systemClock,
              log: silentLogger(),
              onReady: () => resolveReady(),
            }),
          );
        }),
    );
    await Promise.all(ready);
    counts.install += api.requests.length - before;
    const beforeTerm = api.requests.length;
    for (const terminate of terminators) terminate();
    const exits = await Promise.all(runs);
    if (exits.some((exit) => exit.kind !== 'left-installed'))
      throw new Error(
        `a node did not stay installed: ${JSON.stringify(exits.find((e) => e.kind !== 'left-installed'))}`,
      );
    counts.sigterm += api.requests.length - beforeTerm;
    for (const name of names) {
      const labels = api.labels(name);
      if (labels['katacontainers.io/kata-runtime'] !== 'true') throw new Error(`${name} not labelled`);
    }
  }
  return {
    label,
    perNodeInstall: counts.install / NODES,
    perNodeSigterm: counts.sigterm / NODES,
    seconds: (performance.now() - start) / 1000,
  };
}

function rssKiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
}

async function idleRss(script, execArgv = []) {
  const file = path.join(dir, `idle-${Math.random().toString(16).slice(2)}.mjs`);
  writeFileSync(file, script);
  const child = spawn(process.execPath, [...execArgv, file], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      if (String(chunk).includes('ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`idle process exited with ${code}`)));
  });
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const kib = rssKiB(child.pid);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
  return kib;
}

try {
  const rows = [
    await fleet('plain', undefined),
    await fleet('rc', { createRuntimeClasses: true, createDefaultRuntimeClass: true }),
  ];
  api.addNode('idle-node');
  const idleScript = (from) => `
    import { createKube } from ${JSON.stringify(from('kube/create-kube.js'))};
    import { runDaemon } from ${JSON.stringify(from('modes/daemon.js'))};
    import { terminationSignal } from ${JSON.stringify(from('modes/daemon-signals.js'))};
    import { createLogger } from ${JSON.stringify(from('host/logger.js'))};
    import { systemClock } from ${JSON.stringify(from('host/clock.js'))};
    const log = createLogger('warn', 'json', false);
    const termination = terminationSignal();
    const exit = await runDaemon({
      settings: { multiInstallSuffix: undefined, startupTaints: [] },
      install: async () => ({ kind: 'converged', summary: 'converged' }),
      uninstall: async () => {},
      kube: createKube({ kubeconfig: ${JSON.stringify(kubeconfig)}, nodeName: 'idle-node' }, log, {
        serviceAccountDir: '/nonexistent',
      }),
      daemonSet: { namespace: 'kata-deploy', name: 'kata-deploy' },
      healthPort: 0, healthHost: '127.0.0.1',
      terminated: termination.signal, clock: systemClock, log,
      onReady: () => process.stdout.write('ready\\n'),
    });
    termination.dispose();
    process.exitCode = exit.kind === 'left-installed' ? 0 : 1;
  `;
  const daemonRss = await idleRss(idleScript(dist));
  // The same daemon bundled and minified the way scripts/bundle.mjs builds the image's CLI.
  const entry = path.join(dir, 'idle-entry.mjs');
  writeFileSync(entry, idleScript(dist));
  const { build } = await import('esbuild');
  await build({
    entryPoints: [entry],
    outfile: path.join(dir, 'idle-bundle.mjs'),
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'esm',
    minify: true,
    keepNames: true,
    logLevel: 'warning',
    external: ['koffi'],
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
  const bundledRss = await idleRss(readFileSync(path.join(dir, 'idle-bundle.mjs'), 'utf8'));
  const bareRss = await idleRss(
    `setInterval(() => {}, 1000); process.stdout.write('ready\\n'); process.on('SIGTERM', () => process.exit(0));`,
  );

  console.log(
    `kube fleet: ${NODES} nodes, real @kubernetes/client-node over HTTPS to the fake API server ` +
      `(${api.requests.length} requests served)`,
  );
  console.log(
    '| scenario | API requests/node: install + label (goal ≤ 6) | requests/node: SIGTERM, DaemonSet present | wall ' +
      'time |',
  );
  console.log('| --- | --- | --- | --- |');
  for (const row of rows) {
    const name =
      row.label === 'plain'
        ? 'default settings (no RuntimeClasses)'
        : `CREATE_RUNTIMECLASSES + default (${shims.length + 1} classes)`;
    console.log(
      `| ${name} | ${row.perNodeInstall.toFixed(2)} | ${row.perNodeSigterm.toFixed(2)} | ${row.seconds.toFixed(2)} s |`,
    );
  }
  console.log('\n| idle process | RSS |');
  console.log('| --- | --- |');
  console.log(
    `| kata-deploy daemon from dist/ + node_modules (labelled, serving health, waiting for SIGTERM) | ` +
      `${(daemonRss / 1024).toFixed(1)} MiB |`,
  );
  console.log(`| the same daemon bundled + minified (as the image runs it) | ${(bundledRss / 1024).toFixed(1)} MiB |`);
  console.log(`| baseline: bare node with a timer | ${(bareRss / 1024).toFixed(1)} MiB |`);
  const worst = rows[0].perNodeInstall;
  if (worst > 6) {
    console.error(`install + label costs ${worst} requests per node, over the goal of 6`);
    process.exitCode = 1;
  }
} finally {
  await api.stop();
  rmSync(dir, { recursive: true, force: true });
}
