import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** How a command runs in a node: the rest of its environment is clean, so results do not depend on the host's. */
export interface ExecOptions {
  /** Added to the clean environment (PATH, HOME=/root, LANG=C.UTF-8) every command gets. */
  readonly env?: Readonly<Record<string, string>>;
  readonly input?: string | Buffer;
  /** Killed (SIGKILL) after this long; default 120 s for exec, none for spawn (0 = none). */
  readonly timeoutMs?: number;
}

/** How a command in a node ended; exit codes are data here, never exceptions (tests assert on them). */
export interface ExecResult {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Resolves after ms. */
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Collects a child's output; SIGKILL after timeoutMs. */
export function collect(child: ChildProcess, options: ExecOptions): Promise<ExecResult> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
  child.stdin?.on('error', () => undefined);
  child.stdin?.end(options.input ?? '');
  const timeoutMs = options.timeoutMs ?? 120_000;
  const timer = timeoutMs > 0 ? setTimeout(() => child.kill('SIGKILL'), timeoutMs) : undefined;
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      resolve({ exitCode, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
  });
}

/** A command started in a node and still running: nsenter does not forward signals, so kill() goes to it directly. */
export interface NodeProcess {
  /** The nsenter process (its stdout/stderr are the command's). */
  readonly child: ChildProcess;
  /** Host PID of the command itself (nsenter's child). */
  hostPid(): Promise<number>;
  /** Sends a signal to the command itself (default SIGTERM). */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Settles when the command exits; never rejects on exit codes. */
  readonly result: Promise<ExecResult>;
}

const PATH_INSIDE = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Starts argv in the namespaces of host PID `target` (its root and cwd too) with a clean environment. */
export function spawnInNode(target: number, argv: readonly string[], options: ExecOptions): NodeProcess {
  const env = Object.entries({ PATH: PATH_INSIDE, HOME: '/root', LANG: 'C.UTF-8', ...options.env });
  const namespaces = ['--mount', '--uts', '--ipc', '--net', '--pid', '--cgroup', '--root', '--wd'];
  const args = ['--target', String(target), ...namespaces, '--', 'env', '-i', ...env.map(([k, v]) => `${k}=${v}`)];
  const child = spawn('nsenter', [...args, ...argv], { stdio: ['pipe', 'pipe', 'pipe'] });
  const result = collect(child, options);
  const hostPid = async () => {
    for (;;) {
      const found = childrenOf(child.pid ?? 0)[0];
      if (found !== undefined) return found;
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${argv[0]} already exited`);
      await sleep(5);
    }
  };
  return {
    child,
    hostPid,
    async kill(signal = 'SIGTERM') {
      process.kill(await hostPid(), signal);
    },
    result,
  };
}

function childrenOf(parent: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (Number(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${entry}/status`, 'utf8'))?.[1]) === parent) {
        children.push(Number(entry));
      }
    } catch {
      // the process exited while we looked
    }
  }
  return children;
}

/** The child of `parent` that is PID 1 of its own PID namespace (nspawn's container init). */
export function containerInit(parent: number): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      const ppid = /^PPid:\s+(\d+)/m.exec(status)?.[1];
      const nspid = /^NSpid:[\t ]+([\d\t ]+)$/m.exec(status)?.[1]?.trim().split(/\s+/);
      if (Number(ppid) === parent && nspid !== undefined && nspid.length > 1 && nspid.at(-1) === '1') {
        return Number(entry);
      }
    } catch {
      // the process exited while we looked
    }
  }
  return undefined;
}

/**
 * A fresh cgroup per node, beside this process's own, in the hierarchies systemd-nspawn uses (the v2 one and v1
 * `name=systemd`). With --keep-unit nspawn puts the node's systemd in the cgroup it was started in: without
 * this, every node of every test run would share one `payload` cgroup and stop each other's units.
 */
export function privateCgroups(name: string): string[] {
  const dirs: string[] = [];
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n')) {
    const [id, controllers, own] = line.split(':');
    if (own === undefined || own.includes('..')) continue;
    const mount =
      id === '0'
        ? ['/sys/fs/cgroup/unified', '/sys/fs/cgroup'].find((dir) => existsSync(`${dir}/cgroup.controllers`))
        : controllers === 'name=systemd'
          ? '/sys/fs/cgroup/systemd'
          : undefined;
    if (mount === undefined || !existsSync(`${mount}${own}`)) continue;
    const dir = path.join(mount, own, name);
    mkdirSync(dir);
    dirs.push(dir);
  }
  return dirs;
}

/** Kills whatever is left in the node's cgroups, nested ones included (nspawn and the node's units live in
 * sub-cgroups, never in the top one), and removes them deepest first. */
export function removeCgroups(dirs: readonly string[]): void {
  const killAll = 'find "$1" -name cgroup.procs -exec cat {} + | while read -r p; do kill -KILL "$p"; done';
  for (const dir of dirs) {
    for (let attempt = 0; attempt < 100 && existsSync(dir); attempt++) {
      spawnSync('sh', ['-c', killAll, 'sh', dir]);
      const nested = spawnSync('find', [dir, '-depth', '-mindepth', '1', '-type', 'd'], { encoding: 'utf8' });
      for (const sub of nested.stdout.split('\n').filter(Boolean)) spawnSync('rmdir', [sub]);
      if (spawnSync('rmdir', [dir]).status !== 0) spawnSync('sleep', ['0.05']);
    }
  }
}

/** Unmounts dir, retrying while busy, lazily as a last resort. */
export function unmount(dir: string): void {
  for (let attempt = 0; attempt < 20; attempt++) {
    if (spawnSync('umount', [dir]).status === 0) return;
    if (spawnSync('mountpoint', ['-q', dir]).status !== 0) return;
    spawnSync('sleep', ['0.1']);
  }
  spawnSync('umount', ['-l', dir]);
}

/** What a node's temp dir records, so a later run can clean up after a test process killed before stop(). */
export interface NodeRecord {
  readonly owner: number;
  readonly cgroups: readonly string[];
  readonly root: string;
}

const RECORD = 'node.json';

/** Writes the record into the node's temp dir (before anything that would need cleaning up exists). */
export function recordNode(dir: string, record: NodeRecord): void {
  writeFileSync(path.join(dir, RECORD), JSON.stringify(record));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes nodes under `tmp` whose test process is gone (SIGKILLed, so no exit hook ran): kills what runs in their
 * cgroups, unmounts their root, removes their temp dir. Nodes of live processes, any user's, are left alone.
 */
export function sweepAbandonedNodes(tmp: string): string[] {
  const swept: string[] = [];
  for (const entry of readdirSync(tmp).filter((name) => name.startsWith('kata-nspawn-'))) {
    const dir = path.join(tmp, entry);
    let record: NodeRecord;
    try {
      record = JSON.parse(readFileSync(path.join(dir, RECORD), 'utf8')) as NodeRecord;
    } catch {
      continue;
    }
    if (alive(record.owner)) continue;
    removeCgroups(record.cgroups);
    unmount(record.root);
    rmSync(dir, { recursive: true, force: true });
    swept.push(dir);
  }
  return swept;
}

/** Whether pid runs (a zombie, dead and waiting for its parent to reap it, does not). */
export function processRunning(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}
