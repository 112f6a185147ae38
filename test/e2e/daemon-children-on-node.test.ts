import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KATA_RUNTIME_LABEL, markLabel } from '../../src/kube/labels.js';
import { startFakeKube, type FakeKubeSetup } from '../helpers/fake-kube-setup.js';
import { samplePayload } from '../helpers/sample-payload.js';
import { containerdCases } from '../helpers/throwaway-node/matrix.js';
import { startThrowawayNode, type ThrowawayNode } from '../helpers/throwaway-node/node.mjs';

// `kata-deploy daemon` as the long-lived supervisor with its install and teardown in children
// (src/modes/daemon-phase-child.ts), run from dist/ in a throwaway node against the fake API server.
const CLI = path.resolve(import.meta.dirname, '../../dist/cli/main.js');
const CONFIG = `version = 2
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
`;
const first = containerdCases()[0]!;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function probe(port: number, endpoint: string): Promise<number> {
  return fetch(`http://127.0.0.1:${port}${endpoint}`).then(
    (response) => response.status,
    () => 0,
  );
}

/** Waits for a condition the daemon reaches on its own (no time is asserted; the cap only ends a hung run). */
async function until(what: string, condition: () => boolean | Promise<boolean>): Promise<void> {
  for (let tries = 0; tries < 1200; tries++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`gave up waiting for ${what}`);
}

/** The pids whose parent is `pid` (the node shares this machine's PID namespace). */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) children.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return children;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(first.missing !== undefined)('kata-deploy daemon runs its install and teardown in children', () => {
  let node: ThrowawayNode;
  let kube: FakeKubeSetup;
  let payload: string;

  beforeAll(async () => {
    payload = samplePayload();
    kube = await startFakeKube('worker-1');
    kube.api.addNode('worker-1');
    kube.api.addDaemonSet('kata-deploy', 'kata-deploy');
    node = await startThrowawayNode({ containerd: first.binary!, config: CONFIG });
  });
  afterAll(async () => {
    await node?.stop();
    await kube?.cleanup();
  });

  /** Holds the install child's first read of the node until `release` (a real request, answered late). */
  function holdNodeRead(): { arrived: () => boolean; release: () => void } {
    let arrived = false;
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    kube.api.faults.push({
      method: 'GET',
      path: '/api/v1/nodes/worker-1',
      times: 1,
      action: {
        before: () => {
          arrived = true;
          return held;
        },
      },
    });
    return { arrived: () => arrived, release };
  }

  /** Starts the daemon in the node as its own process group; resolves its pid; `ended` gives `exit=<status>`. */
  async function startDaemon(extra: readonly string[] = []) {
    const port = await freePort();
    const pidFile = path.join(node.stateDir, `daemon-${port}.pid`);
    const log = path.join(node.stateDir, `daemon-${port}.log`);
    const argv = [
      process.execPath,
      CLI,
      'daemon',
      '--kubeconfig',
      kube.kubeconfig,
      '--node-name',
      'worker-1',
      '--namespace',
      'kata-deploy',
      '--health-port',
      String(port),
      '--systemd-socket',
      node.systemdSocket,
      '--payload',
      payload,
      '--shims',
      'qemu clh',
      '--containerd-binary',
      first.binary!,
      '--log-format',
      'json',
      ...extra,
    ];
    const script = `setsid "$@" 2>"$LOG" & pid=$!; echo $pid > "$PIDFILE"; wait $pid; echo "exit=$?"`;
    const ended = node
      .run(['sh', '-c', script, 'sh', ...argv], { env: { LOG: log, PIDFILE: pidFile }, timeoutMs: 120_000 })
      .then(async (run) => ({ exit: run.stdout.trim(), log: (await node.readFile(log)) ?? '' }));
    await until('the daemon to start', () => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '');
    return { pid: Number(readFileSync(pidFile, 'utf8')), port, ended };
  }

  it(
    'serves /healthz while the install child works and /readyz once labelled; the idle daemon keeps no child; ' +
      'SIGTERM with the DaemonSet present leaves Kata in place',
    async () => {
      const hold = holdNodeRead();
      const daemon = await startDaemon();
      await until('the install child to read the node', hold.arrived);
      expect(await probe(daemon.port, '/healthz')).toBe(200);
      expect(await probe(daemon.port, '/readyz')).toBe(503);
      expect(childrenOf(daemon.pid), 'the install runs in one child').toHaveLength(1);
      hold.release();
      await until('/readyz 200', async () => (await probe(daemon.port, '/readyz')) === 200);
      await until('the install child to exit', () => childrenOf(daemon.pid).length === 0);
      expect(kube.api.labels('worker-1')).toMatchObject({
        [KATA_RUNTIME_LABEL]: 'true',
        [markLabel(undefined)]: 'true',
      });
      process.kill(daemon.pid, 'SIGTERM');
      const { exit, log } = await daemon.ended;
      expect(exit, log).toBe('exit=0');
      const lines = log
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { msg: string; outcome?: string; exit?: string });
      expect(lines.find((line) => line.outcome !== undefined)?.outcome, 'the child logged the install').toBe(
        'installed',
      );
      expect(lines.at(-1), 'the supervisor logs its end in the same stream').toMatchObject({
        msg: 'kata-deploy daemon exiting',
        exit: 'left-installed',
      });
      expect(await node.readFile('/etc/containerd/config.toml')).toContain('kata-qemu');
      expect(kube.api.events.map((event) => event.reason)).toEqual(['KataInstalled']);
    },
  );

  it(
    'Ctrl-C (SIGINT to the whole process group) during the install: the child installs on, then the teardown ' +
      'child finds the DaemonSet and leaves Kata installed',
    async () => {
      const hold = holdNodeRead();
      const daemon = await startDaemon();
      await until('the install child to read the node', hold.arrived);
      process.kill(-daemon.pid, 'SIGINT');
      hold.release();
      const { exit, log } = await daemon.ended;
      expect(exit, log).toBe('exit=0');
      expect(log).toContain('"outcome":"converged"');
      expect(log).toContain('still selects this node');
      expect(kube.api.labels('worker-1')[KATA_RUNTIME_LABEL]).toBe('true');
    },
  );

  it('the daemon SIGKILLed while its child installs: the child goes with it', async () => {
    const hold = holdNodeRead();
    const daemon = await startDaemon();
    await until('the install child to read the node', hold.arrived);
    const [child] = childrenOf(daemon.pid);
    expect(child).toBeDefined();
    process.kill(daemon.pid, 'SIGKILL');
    await until('the install child to exit', () => !alive(child!));
    hold.release();
    expect((await daemon.ended).exit).toBe('exit=137');
  });

  it('an install that fails exits with its code (4: bad payload) and a Warning Event, never ready', async () => {
    const garbage = path.join(node.stateDir, 'not-a-payload.tar.zst');
    writeFileSync(garbage, 'not an archive\n');
    const daemon = await startDaemon(['--payload', garbage]);
    const { exit, log } = await daemon.ended;
    expect(exit, log).toBe('exit=4');
    expect(log).toMatch(/"level":50,.*"code":"bad-payload".*"msg":"install failed: /);
    expect(kube.api.events.at(-1)?.reason).toBe('KataInstallFailed');
    expect(await node.readFile('/etc/containerd/config.toml'), 'a failed install leaves Kata as it was').toContain(
      'kata-qemu',
    );
  });
});

describe('kata-deploy daemon: what its first child refuses ends the daemon with the same status', () => {
  function daemon(args: readonly string[], env: Record<string, string> = {}) {
    return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [CLI, 'daemon', ...args],
        { env: { ...process.env, ...env }, timeout: 60_000 },
        (error, stdout, stderr) => resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr }),
      );
    });
  }

  it('--help prints the daemon usage and exits 0', async () => {
    const run = await daemon(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Usage: kata-deploy daemon');
  });

  it('an unknown flag exits 2', async () => {
    expect((await daemon(['--no-such-flag'])).code).toBe(2);
  });

  it('a health port already in use ends the daemon before its child installs (exit 1, naming the error)', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '0.0.0.0', resolve));
    const { port } = taken.address() as { port: number };
    try {
      const run = await daemon(['--health-port', String(port), '--log-format', 'json'], {
        NODE_NAME: '',
        KUBECONFIG: '',
      });
      expect(run.code, run.stderr).toBe(1);
      expect(run.stderr).toContain('EADDRINUSE');
      expect(run.stderr).not.toContain('"outcome"');
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('a bad HEALTH_PORT exits 2 naming the variable, before anything is served or installed', async () => {
    const run = await daemon([], { HEALTH_PORT: 'eighty', NODE_NAME: '', KUBECONFIG: '' });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('HEALTH_PORT');
  });
});
