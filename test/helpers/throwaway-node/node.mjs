// The test-side handle on a throwaway node (see agent.mjs): starts it, talks to it, and stops it so
// that no systemd, containerd or shim outlives the test, even when the test fails or the worker exits.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

const AGENT = path.join(import.meta.dirname, 'agent.mjs');

/** Directories an install touches, each a private tmpfs inside the node. */
export const DEFAULT_TMPFS = [
  '/etc/containerd',
  '/opt',
  '/var/lib/kata-deploy',
  '/run/containerd',
  '/var/lib/containerd',
  '/run/kata-deploy',
  '/run/kata-containers',
  // First on a service's PATH: where shim links go for containerd releases that ignore runtime_path.
  '/usr/local/sbin',
  '/etc/modules-load.d',
];

/** Why a throwaway node cannot run here, or undefined when it can. */
export function throwawayNodeUnsupported() {
  if (process.getuid?.() !== 0) return 'needs root (mount namespaces, tmpfs mounts, cgroups)';
  for (const tool of ['unshare', 'mount', 'systemctl']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0)
      return `needs ${tool} on PATH (util-linux, systemd)`;
  }
  if (!existsSync('/lib/systemd/systemd')) return 'needs /lib/systemd/systemd (apt-get install systemd)';
  if (
    !existsSync('/sys/fs/cgroup/systemd') &&
    !existsSync('/sys/fs/cgroup/unified') &&
    !existsSync('/sys/fs/cgroup/cgroup.procs')
  )
    return 'needs a cgroup hierarchy under /sys/fs/cgroup';
  const probe = spawnSync('unshare', ['--mount', '--propagation', 'private', 'true']);
  if (probe.status !== 0) return `unshare --mount fails here: ${String(probe.stderr).trim()}`;
  return undefined;
}

const live = new Set();
process.on('exit', () => {
  for (const node of live) node.killNow();
});

/**
 * Starts a throwaway node running `containerd` (a binary path) as `containerd.service` under a real
 * `systemd --user`, with `config` as /etc/containerd/config.toml. `refuseKata` makes the unit exit 1
 * whenever the merged config has kata handlers. Resolves once containerd reported ready to systemd.
 */
export async function startThrowawayNode({
  containerd,
  config,
  refuseKata = false,
  tmpfs = DEFAULT_TMPFS,
  missingModules = [],
}) {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'kata-throwaway-node-'));
  const cgroupName = path.basename(stateDir);
  const created = tmpfs.filter((dir) => !existsSync(dir));
  const spec = {
    stateDir,
    containerd: path.resolve(containerd),
    config,
    tmpfs,
    refuseKata,
    cgroupName,
    missingModules,
  };
  const child = spawn(
    'unshare',
    ['--mount', '--propagation', 'private', '--', process.execPath, AGENT, JSON.stringify(spec)],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  // A write racing the agent's death must not crash the test process.
  child.stdin.on('error', () => undefined);
  const alive = () => child.exitCode === null && child.signalCode === null;
  const lines = readline.createInterface({ input: child.stdout });
  const waiting = new Map();
  let nextId = 0;
  let first;
  const ready = new Promise((resolve) => (first = resolve));
  lines.on('line', (line) => {
    const message = JSON.parse(line);
    if (message.id === undefined) return first(message);
    waiting.get(message.id)?.(message);
    waiting.delete(message.id);
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  void exited.then(() => {
    first({ ready: false, error: 'agent exited before it was ready' });
    for (const settle of waiting.values()) settle({ ok: false, error: 'throwaway node agent exited' });
    waiting.clear();
  });

  const request = (op, args = {}) =>
    new Promise((resolve, reject) => {
      if (!alive()) return reject(new Error('throwaway node is stopped'));
      nextId += 1;
      waiting.set(nextId, (message) => (message.ok ? resolve(message.result) : reject(new Error(message.error))));
      child.stdin.write(`${JSON.stringify({ id: nextId, op, ...args })}\n`);
    });

  const cleanupOutside = () => {
    // Anything left in the node's cgroups (agent killed hard) and the mount points we had to create.
    for (const root of ['/sys/fs/cgroup/systemd', '/sys/fs/cgroup/unified']) {
      const dir = path.join(root, cgroupName);
      if (!existsSync(dir)) continue;
      spawnSync('sh', [
        '-c',
        `for f in $(find ${dir} -name cgroup.procs); do cat $f; done | xargs -r kill -9; sleep 0.05; find ${dir} ` +
          `-depth -type d -exec rmdir {} \\; 2>/dev/null`,
      ]);
    }
    for (const dir of created) {
      try {
        if (readdirSync(dir).length === 0) rmdirSync(dir);
      } catch {
        // in use by another node, or not empty: not ours to remove
      }
    }
    rmSync(stateDir, { recursive: true, force: true });
  };

  const node = {
    pid: child.pid,
    stateDir,
    /** systemd's private socket, reachable from outside the namespace (it lives in a temp dir). */
    systemdSocket: path.join(stateDir, 'xdg-runtime/systemd/private'),
    runtimeDir: path.join(stateDir, 'xdg-runtime'),
    /** A path inside the node as seen from outside, through the agent's /proc/<pid>/root. */
    hostPath: (file) => path.join(`/proc/${child.pid}/root`, file),
    get containerdSocket() {
      return node.hostPath('/run/containerd/containerd.sock');
    },
    run: (argv, options = {}) => request('run', { argv, ...options }),
    readFile: async (file) => {
      const base64 = await request('read', { path: file });
      return base64 === null ? undefined : Buffer.from(base64, 'base64').toString('utf8');
    },
    writeFile: (file, content) => request('write', { path: file, base64: Buffer.from(content).toString('base64') }),
    stat: (file) => request('stat', { path: file }),
    /** How many times the daemon has started since the node came up (1 right after start). */
    containerdStarts: () => request('starts'),
    containerdLog: () => request('log'),
    /** How many times the stand-in systemd-modules-load.service ran. */
    modulesLoadRuns: () => request('modulesLoadRuns'),
    /** What the agent sees when the test process dies: it must clean up on its own. For tests of this helper. */
    closeStdin: () => child.stdin.end(),
    killNow() {
      child.kill('SIGKILL');
      cleanupOutside();
    },
    async stop() {
      live.delete(node);
      if (alive()) {
        await Promise.race([
          request('stop').catch(() => undefined),
          exited,
          new Promise((resolve) => setTimeout(resolve, 10_000)),
        ]);
        if (alive()) child.kill('SIGKILL');
      }
      await exited;
      cleanupOutside();
    },
  };
  live.add(node);
  const hello = await ready;
  if (!hello.ready) {
    await node.stop();
    throw new Error(`throwaway node did not start: ${hello.error}`);
  }
  return node;
}
