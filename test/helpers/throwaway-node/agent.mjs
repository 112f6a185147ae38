// Lives inside a private mount namespace (started by node.mjs through `unshare --mount --propagation
// private`) and makes it a throwaway Kubernetes node: tmpfs over the directories an install touches, a real
// `systemd --user` manager, and a real containerd as its `containerd.service`. Then it runs commands for
// the test, which cannot enter the namespace itself: JSON lines on stdin, one JSON reply line per request.
// Plain JavaScript with no imports from the project, so vitest, benchmarks and the demo can all spawn it.
import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  writeFileSync,
  lstatSync,
  readdirSync,
  rmdirSync,
  chmodSync,
} from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';

const spec = JSON.parse(process.argv[2]);
const { stateDir, containerd, config, tmpfs, refuseKata, cgroupName, missingModules = [] } = spec;
const runtimeDir = path.join(stateDir, 'xdg-runtime');
const configHome = path.join(stateDir, 'xdg-config');
const env = { ...process.env, XDG_RUNTIME_DIR: runtimeDir, XDG_CONFIG_HOME: configHome };
const cgroups = ['/sys/fs/cgroup/systemd', '/sys/fs/cgroup/unified']
  .filter((root) => existsSync(root))
  .map((root) => path.join(root, cgroupName));
const children = new Set();
let systemd;

const reply = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(what, check, timeoutMs) {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`${what} did not appear within ${timeoutMs} ms`);
    await sleep(10);
  }
}

function mountTmpfs(dir) {
  mkdirSync(dir, { recursive: true });
  const result = spawnSync('mount', ['-t', 'tmpfs', '-o', 'mode=755', 'tmpfs', dir], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`mount tmpfs on ${dir}: ${result.stderr}`);
}

function writeUnit() {
  const starter = path.join(stateDir, 'containerd-start.sh');
  // Counts every start of the daemon (our restarts, not only systemd's automatic ones, which NRestarts
  // counts), and plays a containerd that refuses kata handlers when asked to, for the rollback test.
  writeFileSync(
    starter,
    [
      '#!/bin/sh',
      `date +%s%N >> ${stateDir}/starts`,
      refuseKata
        ? `if ${containerd} --config /etc/containerd/config.toml config dump 2>/dev/null | grep -Eq ` +
          `'runtimes\\.("|)kata'; then echo "throwaway node: refusing a config with kata handlers" >&2; exit 1; fi`
        : '',
      `exec ${containerd} --config /etc/containerd/config.toml`,
      '',
    ].join('\n'),
  );
  chmodSync(starter, 0o755);
  const unitDir = path.join(configHome, 'systemd/user');
  mkdirSync(unitDir, { recursive: true });
  writeFileSync(
    path.join(unitDir, 'containerd.service'),
    [
      '[Unit]',
      'Description=throwaway-node containerd',
      'StartLimitIntervalSec=0',
      '[Service]',
      'Type=notify',
      `ExecStart=${starter}`,
      'KillMode=process',
      'Delegate=yes',
      'Restart=no',
      'TimeoutStartSec=30',
      `StandardOutput=append:${stateDir}/containerd.log`,
      'StandardError=inherit',
      '',
    ].join('\n'),
  );
  writeModulesLoadUnit(unitDir);
}

// What a node's kernel could load (its /lib/modules); this machine has none, so modprobe cannot be used.
const LOADABLE_MODULES = ['kvm', 'kvm_intel', 'kvm_amd', 'kvm_hv', 'vhost', 'vhost_net', 'vhost_vsock'];

// A writable /sys/module that starts as the real one (each real entry bind-mounted into a tmpfs), so a
// stand-in systemd-modules-load can "load" a module by creating its directory, as the kernel would.
function standInSysModule() {
  const real = path.join(stateDir, 'real-sys-module');
  mkdirSync(real);
  const bind = spawnSync('mount', ['--bind', '/sys/module', real], { encoding: 'utf8' });
  if (bind.status !== 0) throw new Error(`bind /sys/module: ${bind.stderr}`);
  mountTmpfs('/sys/module');
  const binds = readdirSync(real)
    .map((name) => `mkdir /sys/module/${name} && mount --bind ${real}/${name} /sys/module/${name}`)
    .join(' && ');
  const result = spawnSync('sh', ['-c', `${binds} && umount ${real}`], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`stand-in /sys/module: ${result.stderr}`);
}

// Plays the host's systemd-modules-load.service: reads modules-load.d, "loads" what the kernel could load,
// and fails (as the real one does) when any listed module cannot be found. Every run is recorded.
function writeModulesLoadUnit(unitDir) {
  const loader = path.join(stateDir, 'modules-load.sh');
  const loadable = LOADABLE_MODULES.filter((name) => !missingModules.includes(name)).join(' ');
  writeFileSync(
    loader,
    [
      '#!/bin/sh',
      `date +%s%N >> ${stateDir}/modules-load-runs`,
      'failed=0',
      'for name in $(cat /etc/modules-load.d/*.conf 2>/dev/null | grep -v "^[#;]"); do',
      `  case " ${loadable} " in *" $name "*) mkdir -p /sys/module/$name ;;`,
      '  *) [ -d /sys/module/$name ] || { echo "Failed to find module \'$name\'" >&2; failed=1; } ;; esac',
      'done',
      'exit $failed',
      '',
    ].join('\n'),
  );
  chmodSync(loader, 0o755);
  writeFileSync(
    path.join(unitDir, 'systemd-modules-load.service'),
    [
      '[Unit]',
      'Description=throwaway-node modules-load',
      '[Service]',
      'Type=oneshot',
      'RemainAfterExit=yes',
      `ExecStart=${loader}`,
      '',
    ].join('\n'),
  );
}

async function startNode() {
  for (const dir of ['/run/systemd', ...tmpfs]) mountTmpfs(dir);
  standInSysModule();
  mkdirSync('/run/systemd/system', { recursive: true });
  mkdirSync(runtimeDir, { recursive: true, mode: 0o700 });
  mkdirSync('/etc/containerd', { recursive: true });
  writeFileSync('/etc/containerd/config.toml', config);
  writeUnit();
  for (const dir of cgroups) mkdirSync(dir, { recursive: true });
  // systemd --user takes the cgroup it starts in as its root; a private one keeps parallel test nodes
  // apart and lets cleanup find every process it spawned (containerd, shims) even after reparenting.
  const joinCgroups = cgroups.map((dir) => `echo $$ > ${dir}/cgroup.procs`).join('; ');
  systemd = spawn('sh', ['-c', `${joinCgroups}; exec /lib/systemd/systemd --user`], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let systemdErr = '';
  systemd.stderr.on('data', (chunk) => (systemdErr += chunk));
  const socket = path.join(runtimeDir, 'systemd/private');
  await waitFor('systemd private socket', () => existsSync(socket) || systemd.exitCode !== null, 10_000);
  if (systemd.exitCode !== null) throw new Error(`systemd --user exited ${systemd.exitCode}: ${systemdErr}`);
  const start = spawnSync('systemctl', ['--user', 'start', 'containerd.service'], {
    env,
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (start.status !== 0) throw new Error(`systemctl --user start containerd.service: ${start.stderr}${readLog()}`);
  return socket;
}

function readLog() {
  const log = path.join(stateDir, 'containerd.log');
  return existsSync(log) ? `\ncontainerd log:\n${readFileSync(log, 'utf8').split('\n').slice(-15).join('\n')}` : '';
}

function cgroupPids(dir) {
  if (!existsSync(dir)) return [];
  const pids = readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  for (const entry of readdirSync(dir, { withFileTypes: true }))
    if (entry.isDirectory()) pids.push(...cgroupPids(path.join(dir, entry.name)));
  return pids;
}

function removeCgroup(dir) {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true }))
    if (entry.isDirectory()) removeCgroup(path.join(dir, entry.name));
  try {
    rmdirSync(dir);
  } catch {
    // still busy: the outer controller retries after the namespace is gone
  }
}

let stopping;
function stop() {
  stopping ??= (async () => {
    for (const child of children) child.kill('SIGKILL');
    for (let round = 0; round < 50; round++) {
      const pids = [...new Set(cgroups.flatMap(cgroupPids))];
      if (pids.length === 0) break;
      for (const pid of pids) {
        try {
          process.kill(pid, round < 10 ? 'SIGTERM' : 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await sleep(20);
    }
    for (const dir of cgroups) removeCgroup(dir);
  })();
  return stopping;
}

function run({ argv, env: extraEnv, timeoutMs, input, cwd }) {
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { cwd, env: { ...env, ...extraEnv }, stdio: ['pipe', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    // A command that exits without reading its stdin (cat, systemctl) makes this write fail with EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs ?? 120_000);
    child.on('error', (error) => (stderr += String(error)));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ exitCode: code ?? (signal === null ? 1 : 128), signal, stdout, stderr });
    });
  });
}

function stat(file) {
  try {
    const info = lstatSync(file);
    return {
      exists: true,
      isFile: info.isFile(),
      isDirectory: info.isDirectory(),
      isSymlink: info.isSymbolicLink(),
      mode: info.mode & 0o7777,
      size: info.size,
    };
  } catch {
    return { exists: false };
  }
}

const handlers = {
  run,
  read: ({ path: file }) => (existsSync(file) ? readFileSync(file).toString('base64') : null),
  write: ({ path: file, base64 }) => {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, Buffer.from(base64, 'base64'));
    return true;
  },
  stat: ({ path: file }) => stat(file),
  starts: () =>
    existsSync(path.join(stateDir, 'starts'))
      ? readFileSync(path.join(stateDir, 'starts'), 'utf8').split('\n').filter(Boolean).length
      : 0,
  log: () => readLog(),
  modulesLoadRuns: () =>
    existsSync(path.join(stateDir, 'modules-load-runs'))
      ? readFileSync(path.join(stateDir, 'modules-load-runs'), 'utf8').split('\n').filter(Boolean).length
      : 0,
  stop: async () => {
    await stop();
    return true;
  },
};

process.on('SIGTERM', () => void stop().then(() => process.exit(0)));
process.on('uncaughtException', (error) => {
  process.stderr.write(`throwaway node agent: ${error.stack ?? error}\n`);
  void stop().then(() => process.exit(1));
});
try {
  const socket = await startNode();
  reply({ ready: true, systemdSocket: socket, runtimeDir });
} catch (error) {
  reply({ ready: false, error: String(error?.message ?? error) });
  await stop();
  process.exit(1);
}

const lines = readline.createInterface({ input: process.stdin });
lines.on('line', async (line) => {
  const request = JSON.parse(line);
  try {
    reply({ id: request.id, ok: true, result: await handlers[request.op](request) });
  } catch (error) {
    reply({ id: request.id, ok: false, error: String(error?.message ?? error) });
  }
  if (request.op === 'stop') process.exit(0);
});
// The test process died or closed us: leave nothing running.
lines.on('close', () => void stop().then(() => process.exit(0)));
