// The README's main job: a sandboxed install on this machine. It builds a small kata-static-shaped
// payload, starts a throwaway node (a real systemd user manager running a real containerd as
// containerd.service, in a private mount namespace), then runs the real CLI inside it: detect,
// install --dry-run, install, status, install again, uninstall — and checks the operator's config
// comes back byte for byte. Every process it starts is stopped before it exits.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startThrowawayNode, throwawayNodeUnsupported } from '../test/helpers/throwaway-node/node.mjs';

const repo = path.resolve(import.meta.dirname, '..');
const cli = path.join(repo, 'dist/cli/main.js');
const containerd = process.env.DEMO_CONTAINERD ?? '/usr/bin/containerd';
const operatorConfig = `# /etc/containerd/config.toml as an operator wrote it (kept byte for byte)
version = 2

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.9"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
      SystemdCgroup = false
`;

function missing() {
  const reason = throwawayNodeUnsupported();
  if (reason !== undefined) return reason;
  for (const [tool, pkg] of [
    [containerd, 'containerd'],
    ['runc', 'runc'],
    ['zstd', 'zstd'],
  ]) {
    if (spawnSync('sh', ['-c', `command -v "${tool}"`]).status !== 0)
      return `needs ${tool} (apt-get install -y ${pkg}, or run: bash scripts/ci/setup.sh)`;
  }
  if (spawnSync('test', ['-f', cli]).status !== 0) return 'needs the compiled CLI (npm ci builds it, or npm run build)';
  return undefined;
}

function section(title) {
  console.log(`\n\x1b[1m== ${title}\x1b[0m`);
}

function logLines(stderr) {
  return stderr
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      try {
        const entry = JSON.parse(line);
        return `  log: ${entry.msg}`;
      } catch {
        return `  ${line}`;
      }
    })
    .join('\n');
}

const why = missing();
if (why !== undefined) {
  console.error(`demo cannot run here: ${why}`);
  process.exit(1);
}

const work = mkdtempSync(path.join(tmpdir(), 'kata-deploy-demo-'));
const payload = path.join(work, 'kata-static-sample.tar.zst');
let node;
let failures = 0;
const expect = (ok, what) => {
  console.log(`  ${ok ? '✓' : '✗'} ${what}`);
  if (!ok) failures += 1;
};
try {
  section('building a sample kata-static payload');
  execFileSync(process.execPath, [path.join(repo, 'scripts/make-sample-payload.mjs'), '--out', payload], {
    stdio: 'inherit',
  });

  section(`starting a throwaway node: systemd user manager + ${containerd} as containerd.service`);
  node = await startThrowawayNode({ containerd, config: operatorConfig });
  console.log(`  systemd socket: ${node.systemdSocket}\n  containerd starts so far: ${await node.containerdStarts()}`);
  const run = async (args) => {
    const result = await node.run(
      [
        process.execPath,
        cli,
        ...args,
        '--systemd-socket',
        node.systemdSocket,
        '--payload',
        payload,
        '--shims',
        'qemu clh fc',
        '--containerd-binary',
        containerd,
        '--log-format',
        'json',
      ],
      { timeoutMs: 120_000 },
    );
    console.log(`$ kata-deploy ${args.join(' ')}   (exit ${result.exitCode})`);
    if (result.stdout.trim() !== '')
      console.log(
        result.stdout
          .trimEnd()
          .split('\n')
          .map((line) => `  ${line}`)
          .join('\n'),
      );
    if (result.exitCode !== 0) console.log(logLines(result.stderr));
    return result;
  };

  section('detect (read-only)');
  await run(['detect']);

  section('install --dry-run (writes nothing)');
  const plan = await run(['install', '--dry-run']);
  expect(plan.exitCode === 0, 'dry run planned the install');
  expect((await node.readFile('/etc/containerd/config.toml')) === operatorConfig, 'config untouched by the dry run');

  section('install');
  const first = await run(['install']);
  expect(first.exitCode === 0, 'install succeeded');
  expect((await node.containerdStarts()) === 2, 'containerd restarted exactly once');

  section('status');
  const status = await run(['status']);
  expect(status.exitCode === 0, 'status: healthy, every handler live in CRI');

  section('install again (converged: no writes, no restart)');
  const again = await run(['install']);
  expect(again.exitCode === 0 && (await node.containerdStarts()) === 2, 'no containerd restart on reinstall');

  section('uninstall');
  const removed = await run(['uninstall']);
  expect(removed.exitCode === 0, 'uninstall succeeded');
  expect(
    (await node.readFile('/etc/containerd/config.toml')) === operatorConfig,
    "config.toml is byte-identical to the operator's",
  );
  expect(!(await node.stat('/opt/kata')).exists, '/opt/kata is gone');
  await run(['status']);
} finally {
  section('cleaning up');
  await node?.stop();
  rmSync(work, { recursive: true, force: true });
  console.log('  throwaway node stopped, temp files removed');
}
console.log(
  failures === 0 ? '\ndemo finished: every check passed' : `\ndemo finished with ${failures} failed check(s)`,
);
process.exit(failures === 0 ? 0 : 1);
