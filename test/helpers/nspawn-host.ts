import { type ChildProcess, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface ExecOptions {
  /** Added to the clean environment (PATH, HOME=/root, LANG=C.UTF-8) every command gets. */
  readonly env?: Readonly<Record<string, string>>;
  readonly input?: string | Buffer;
  /** Killed (SIGKILL) after this long; default 120 s. */
  readonly timeoutMs?: number;
}

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
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      resolve({ exitCode, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
  });
}

/** The child of `parent` that is PID 1 of its own PID namespace (nspawn's container init). */
export function containerInit(parent: number): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      const ppid = /^PPid:\s+(\d+)/m.exec(status)?.[1];
      const nspid = /^NSpid:\s+([\d\s]+)$/m.exec(status)?.[1].trim().split(/\s+/);
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

/** Kills whatever is left in the node's cgroups and removes them, deepest first. */
export function removeCgroups(dirs: readonly string[]): void {
  for (const dir of dirs) {
    spawnSync('sh', ['-c', 'for p in $(cat "$1"/cgroup.procs); do kill -KILL "$p"; done', 'sh', dir]);
    for (let attempt = 0; attempt < 50 && existsSync(dir); attempt++) {
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
