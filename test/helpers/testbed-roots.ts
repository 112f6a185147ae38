import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const REPO = path.resolve(import.meta.dirname, '../..');
const BUILD = path.join(REPO, 'scripts/testbed/build-rootfs.sh');
const RUNTIME_LIST = path.join(REPO, 'scripts/image/runtime.list');
const run = promisify(execFile);

/** The kinds of node the test bed boots: which runtime runs as a system service, under which unit. */
export type NodeKind = 'containerd-1.6' | 'containerd-2.1' | 'k3s' | 'rke2-agent';

/** Where a node kind's runtime lives: what kata-deploy is expected to find and restart there. */
export interface NodeRuntime {
  readonly unit: string;
  /** The runtime's socket as the node sees it. */
  readonly socket: string;
  readonly configPath: string;
  readonly binary: string;
}

const K3S_SOCKET = '/run/k3s/containerd/containerd.sock';
const CONTAINERD: NodeRuntime = {
  unit: 'containerd.service',
  socket: '/run/containerd/containerd.sock',
  configPath: '/etc/containerd/config.toml',
  binary: '/usr/bin/containerd',
};

/** Each kind's runtime, as scripts/testbed/build-rootfs.sh lays it out (a change there is a change here). */
export const NODE_RUNTIMES: Readonly<Record<NodeKind, NodeRuntime>> = {
  'containerd-1.6': CONTAINERD,
  'containerd-2.1': CONTAINERD,
  k3s: {
    unit: 'k3s.service',
    socket: K3S_SOCKET,
    configPath: '/var/lib/rancher/k3s/agent/etc/containerd/config.toml',
    binary: '/var/lib/rancher/k3s/data/current/bin/containerd',
  },
  'rke2-agent': {
    unit: 'rke2-agent.service',
    socket: K3S_SOCKET,
    configPath: '/var/lib/rancher/rke2/agent/etc/containerd/config.toml',
    binary: '/var/lib/rancher/rke2/bin/containerd',
  },
};

/** The cached directories an nspawn node is overlaid from: the common root, and the kind's layer above it. */
export interface NodeRoots {
  readonly node: string;
  readonly layers: Readonly<Record<Exclude<NodeKind, 'containerd-1.6'>, string>>;
}

async function build(args: readonly string[]): Promise<Map<string, string>> {
  // The first run debootstraps and installs packages (about a minute); later runs only hash their inputs.
  const { stdout } = await run('bash', [BUILD, ...args], { maxBuffer: 1 << 20, timeout: 900_000 });
  return new Map(
    stdout
      .trim()
      .split('\n')
      .map((line) => line.split(' ', 2) as [string, string]),
  );
}

/**
 * The node roots from scripts/testbed/build-rootfs.sh, built on first use and cached in .cache/testbed (and asked
 * for once per test process); the script is the one place that knows what a node holds (shell, so CI and the
 * demo can run it alone).
 */
export function nodeRoots(): Promise<NodeRoots> {
  built ??= buildNodeRoots();
  built.catch(() => {
    built = undefined;
  });
  return built;
}

let built: Promise<NodeRoots> | undefined;

async function buildNodeRoots(): Promise<NodeRoots> {
  const paths = await build(['node']);
  const get = (name: string) => {
    const dir = paths.get(name);
    if (dir === undefined) throw new Error(`build-rootfs.sh node printed no "${name}" line`);
    return dir;
  };
  return {
    node: get('node'),
    layers: { 'containerd-2.1': get('containerd-2.1'), k3s: get('k3s'), 'rke2-agent': get('rke2-agent') },
  };
}

/**
 * The kata-deploy image's root (the Dockerfile's runtime stage without Docker) holding `payload` at the
 * list's payload path; cached per payload, bundle and list, and never written to once built: mount it read-only.
 */
export async function imageRoot(payload: string): Promise<string> {
  const dir = (await build(['image', '--payload', payload])).get('image');
  if (dir === undefined) throw new Error('build-rootfs.sh image printed no "image" line');
  return dir;
}

/** One entry of scripts/image/runtime.list: its kind (package, node, bundle, …) and the rest of its line. */
export interface ImageEntry {
  readonly kind: string;
  readonly value: string;
}

/** What the image holds, as scripts/image/runtime.list says: the list the Dockerfile and the image build share. */
export function imageContents(): ImageEntry[] {
  return readFileSync(RUNTIME_LIST, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const space = line.indexOf(' ');
      return { kind: line.slice(0, space), value: line.slice(space + 1) };
    });
}

/** The image's environment (its `env` entries), as a container runtime would start its entrypoint with. */
export function imageEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of imageContents().filter((item) => item.kind === 'env')) {
    const eq = entry.value.indexOf('=');
    env[entry.value.slice(0, eq)] = entry.value.slice(eq + 1);
  }
  return env;
}
