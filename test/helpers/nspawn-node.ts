import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type CriStatus, criStatus } from '../../src/containerd/cri-status.js';
import {
  containerInit,
  type ExecOptions,
  type ExecResult,
  type NodeProcess,
  privateCgroups,
  recordNode,
  removeCgroups,
  sleep,
  spawnInNode,
  sweepAbandonedNodes,
  unmount,
} from './nspawn-host.js';
import { NODE_RUNTIMES, type NodeKind, type NodeRuntime, nodeRoots } from './testbed-roots.js';

export {
  type ExecOptions,
  type ExecResult,
  type NodeProcess,
  processRunning,
  sweepAbandonedNodes,
} from './nspawn-host.js';
export { NODE_RUNTIMES, type NodeKind, type NodeRuntime } from './testbed-roots.js';

/** A host directory or file made visible inside the node (systemd-nspawn --bind / --bind-ro). */
export interface NodeBind {
  readonly source: string;
  readonly target: string;
  readonly readOnly?: boolean;
}

/** What a test chooses about its node; everything else is what a real node of that kind would have. */
export interface BootNodeOptions {
  readonly kind: NodeKind;
  readonly binds?: readonly NodeBind[];
  /** Files written into the node's root before it boots (an operator's config, a k3s template). */
  readonly files?: Readonly<Record<string, string | Buffer>>;
  /** Pass the host's /dev/kvm into the node, as a Kata node has one (default: when the host has it). */
  readonly kvm?: boolean;
  /** How long boot may take to reach "the runtime answers CRI Status" (default 60 s). */
  readonly bootTimeoutMs?: number;
  /**
   * Modules the node's /sys/module shows beyond this kernel's own (default the vhost trio a Kata node loads):
   * this machine has no vhost_vsock and no /lib/modules, so install would refuse every QEMU shim (exit 3).
   */
  readonly extraModules?: readonly string[];
}

/** This machine's KVM module is kvm_pvm; a Kata node shows its vendor's module, which install checks for. */
const KATA_NODE_MODULES = [
  'vhost',
  'vhost_net',
  'vhost_vsock',
  readFileSync('/proc/cpuinfo', 'utf8').includes('AuthenticAMD') ? 'kvm_amd' : 'kvm_intel',
];

/** A writable /sys/module in the node: each real entry bind-mounted into a tmpfs, plus the stand-in modules. */
function sysModuleStandIn(extra: readonly string[]): string {
  return [
    'set -e',
    // Private, or the tmpfs below would propagate onto this bind of /sys/module too and hide every entry.
    'mkdir -p /run/kd-sys-module && mount --bind /sys/module /run/kd-sys-module',
    'mount --make-private /run/kd-sys-module',
    'mount -t tmpfs -o mode=0755 kd-sys-module /sys/module',
    'for entry in /run/kd-sys-module/*; do name=$(basename "$entry"); mkdir "/sys/module/$name"; ' +
      'mount --bind "$entry" "/sys/module/$name"; done',
    ...extra.map((name) => `mkdir -p /sys/module/${name}`),
  ].join('\n');
}

/** A booted node: systemd as PID 1 in its own PID namespace, the runtime as a system service. */
export interface NspawnNode {
  readonly kind: NodeKind;
  /** Host name inside the node (also its machine name). */
  readonly name: string;
  /** The node's root as an overlay mount on the host (a per-node copy-on-write view; the cache stays pristine). */
  readonly root: string;
  /** Host PID of the node's PID 1 (systemd): its namespaces are /proc/<pid>/ns/*. */
  readonly pid: number;
  readonly runtime: NodeRuntime;
  /** Milliseconds from starting nspawn to systemd up (startup finished) and to the runtime answering CRI Status. */
  readonly bootMs: { readonly systemd: number; readonly runtime: number };
  /** A node path as seen from the host, through /proc/<pid>/root (its /run tmpfs included). */
  hostPath(file: string): string;
  /** A file of the node (read through hostPath), or undefined if it does not exist. */
  readFile(file: string): Promise<string | undefined>;
  /** Runs argv inside the node's mount, UTS, IPC, network, PID and cgroup namespaces; never throws on exit codes. */
  exec(argv: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /** Starts argv like exec and returns at once (a daemon, a pod): its output, its host PID, kill(), result. */
  spawn(argv: readonly string[], options?: ExecOptions): NodeProcess;
  systemctl(...args: string[]): Promise<ExecResult>;
  /** One property of a unit (`systemctl show -p NAME --value`). */
  unitProperty(unit: string, property: string): Promise<string>;
  /** The unit's journal (message text only), for assertion messages and log checks. */
  journal(unit: string): Promise<string>;
  /** Polls the unit's journal until it contains `text` (journald takes a unit's stderr asynchronously). */
  waitForJournal(unit: string, text: string, timeoutMs?: number): Promise<string>;
  /** CRI RuntimeService/Status from the runtime's socket, asked from the host through hostPath. */
  runtimeStatus(): Promise<CriStatus>;
  /** Polls runtimeStatus until the runtime answers (after a restart, say); rejects with the journal on timeout. */
  waitForRuntime(timeoutMs?: number): Promise<CriStatus>;
  /** Powers the node off (SIGKILL after 15 s), kills what is left in its cgroups, unmounts its root and removes its
   * temp dir. Idempotent. */
  stop(): Promise<void>;
}

/** Why nspawn nodes cannot run here (not root, a program missing), or undefined. */
export function nspawnNodeUnsupported(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  for (const program of ['/usr/bin/systemd-nspawn', '/usr/bin/unshare', '/usr/bin/nsenter']) {
    if (!existsSync(program)) return `${program} missing (apt-get install systemd-container util-linux)`;
  }
  if (!existsSync('/usr/sbin/debootstrap')) return 'debootstrap missing (apt-get install debootstrap)';
  return undefined;
}

/**
 * Boots a node of the given kind: an overlay of the cached root (scripts/testbed/build-rootfs.sh) under a temp
 * dir, systemd-nspawn --boot in a private mount namespace with a tmpfs on /run/systemd (the recipe in
 * docs/TESTBED.md), and resolves once systemd finished starting up and the runtime answers CRI Status.
 */
export async function bootNode(options: BootNodeOptions): Promise<NspawnNode> {
  const roots = await nodeRoots();
  sweepAbandonedNodes(tmpdir());
  const lower = options.kind === 'containerd-1.6' ? [roots.node] : [roots.layers[options.kind], roots.node];
  const dir = mkdtempSync(path.join(tmpdir(), 'kata-nspawn-'));
  const root = path.join(dir, 'root');
  for (const sub of ['upper', 'work', 'root']) mkdirSync(path.join(dir, sub));
  const name = `kd-${path.basename(dir).slice('kata-nspawn-'.length).toLowerCase()}`;
  const cgroups = privateCgroups(path.basename(dir));
  recordNode(dir, { owner: process.pid, cgroups, root });
  const overlay = `lowerdir=${lower.join(':')},upperdir=${dir}/upper,workdir=${dir}/work`;
  const mounted = spawnSync('mount', ['-t', 'overlay', 'overlay', '-o', overlay, root], { encoding: 'utf8' });
  if (mounted.status !== 0) {
    removeCgroups(cgroups);
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`overlay mount of the node root failed: ${mounted.stderr}`);
  }
  let child: ChildProcess | undefined;
  let pid = 0;
  const emergency = () => {
    if (pid > 0) spawnSync('kill', ['-KILL', String(pid)]);
    child?.kill('SIGKILL');
    removeCgroups(cgroups);
    unmount(root);
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', emergency);
  try {
    for (const [file, content] of Object.entries(options.files ?? {})) {
      mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
      writeFileSync(path.join(root, file), content);
    }
    const binds = (options.binds ?? []).map(
      (bind) => `--bind${bind.readOnly ? '-ro' : ''}=${bind.source}:${bind.target}`,
    );
    if (options.kvm ?? existsSync('/dev/kvm')) binds.push('--bind=/dev/kvm');
    const nspawn = ['systemd-nspawn', '-D', root, '--boot', '--register=no', '--keep-unit', '--console=pipe'];
    const script =
      'for g in $CGROUPS; do echo $$ >"$g/cgroup.procs"; done; mount -t tmpfs tmpfs /run/systemd && exec "$@"';
    child = spawn(
      'unshare',
      ['--mount', '--propagation', 'private', '--', 'sh', '-c', script, 'sh', ...nspawn, '-M', name, ...binds],
      { stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: process.env.PATH, CGROUPS: cgroups.join(' ') } },
    );
    const log: Buffer[] = [];
    child.stdout?.on('data', (chunk: Buffer) => log.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => log.push(chunk));
    const exited = new Promise<void>((resolve) => child?.once('exit', () => resolve()));
    const node = nodeHandle({ kind: options.kind, name, root, dir, cgroups, child, exited, emergency });
    const started = Date.now();
    const deadline = started + (options.bootTimeoutMs ?? 60_000);
    const bootLog = () => Buffer.concat(log).toString().slice(-4000);
    while (pid === 0) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`nspawn did not boot:\n${bootLog()}`);
      pid = containerInit(child.pid ?? 0) ?? 0;
      if (pid === 0) await sleep(20);
    }
    node.setPid(pid);
    for (;;) {
      const state = await node.exec(['systemctl', 'is-system-running', '--wait'], { timeoutMs: 30_000 });
      if (['running', 'degraded'].includes(state.stdout.trim())) break;
      if (child.exitCode !== null || Date.now() > deadline)
        throw new Error(`systemd in the node is "${state.stdout.trim()}":\n${bootLog()}`);
      await sleep(50);
    }
    const systemdMs = Date.now() - started;
    const standIn = await node.exec(['sh', '-c', sysModuleStandIn(options.extraModules ?? KATA_NODE_MODULES)]);
    if (standIn.exitCode !== 0) throw new Error(`stand-in /sys/module in the node: ${standIn.stderr}`);
    await node.waitForRuntime(Math.max(deadline - Date.now(), 1000));
    node.setBootMs({ systemd: systemdMs, runtime: Date.now() - started });
    if (process.env.KATA_TESTBED_TIMINGS === '1') {
      process.stderr.write(
        `nspawn node ${options.kind}: systemd up ${systemdMs} ms, runtime answers ` +
          `${node.handle.bootMs.runtime} ms after start\n`,
      );
    }
    return node.handle;
  } catch (error) {
    emergency();
    process.removeListener('exit', emergency);
    throw error;
  }
}

interface NodeParts {
  readonly kind: NodeKind;
  readonly name: string;
  readonly root: string;
  readonly dir: string;
  readonly cgroups: readonly string[];
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  readonly emergency: () => void;
}

function nodeHandle(parts: NodeParts) {
  let pid = 0;
  let bootMs = { systemd: 0, runtime: 0 };
  let stopping: Promise<void> | undefined;
  const runtime = NODE_RUNTIMES[parts.kind];
  const hostPath = (file: string) => path.join(`/proc/${pid}/root`, file);
  const exec = (argv: readonly string[], options: ExecOptions = {}) => spawnInNode(pid, argv, options).result;
  const journal = async (unit: string) =>
    (await exec(['journalctl', '--no-pager', '-o', 'cat', '-n', '300', '-u', unit])).stdout;
  const runtimeStatus = () => criStatus(hostPath(runtime.socket));
  const handle: NspawnNode = {
    kind: parts.kind,
    name: parts.name,
    root: parts.root,
    get pid() {
      return pid;
    },
    runtime,
    get bootMs() {
      return bootMs;
    },
    hostPath,
    async readFile(file) {
      try {
        return await readFile(hostPath(file), 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
    },
    exec,
    spawn: (argv, options = {}) => spawnInNode(pid, argv, { timeoutMs: 0, ...options }),
    systemctl: (...args) => exec(['systemctl', '--no-pager', ...args]),
    unitProperty: async (unit, property) =>
      (await exec(['systemctl', 'show', '-p', property, '--value', unit])).stdout.trim(),
    journal,
    async waitForJournal(unit, text, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const log = await journal(unit);
        if (log.includes(text) || Date.now() > deadline) return log;
        await sleep(100);
      }
    },
    runtimeStatus,
    async waitForRuntime(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        try {
          return await runtimeStatus();
        } catch (error) {
          if (Date.now() > deadline) {
            throw new Error(
              `${runtime.unit} does not answer CRI Status on ${runtime.socket}: ${error}\n` +
                (await journal(runtime.unit)),
            );
          }
          await sleep(50);
        }
      }
    },
    stop() {
      stopping ??= (async () => {
        // nspawn turns SIGTERM into a clean poweroff of the node; SIGKILL to PID 1 ends its PID namespace.
        parts.child.kill('SIGTERM');
        const timer = setTimeout(() => {
          if (pid > 0) spawnSync('kill', ['-KILL', String(pid)]);
          parts.child.kill('SIGKILL');
        }, 15_000);
        await parts.exited;
        clearTimeout(timer);
        removeCgroups(parts.cgroups);
        unmount(parts.root);
        rmSync(parts.dir, { recursive: true, force: true });
        process.removeListener('exit', parts.emergency);
      })();
      return stopping;
    },
  };
  return {
    handle,
    exec,
    waitForRuntime: handle.waitForRuntime,
    setPid(value: number) {
      pid = value;
    },
    setBootMs(value: { systemd: number; runtime: number }) {
      bootMs = value;
    },
  };
}
