import { parseTomlValues } from '../core/toml-values.js';
import { upstreamConfigPath } from '../core/upstream-config-path.js';
import { type SemVer, configVersionMismatch, parseSemVer } from '../core/containerd-version.js';
import { FLAVOUR_LAYOUTS, FLAVOUR_MARKERS, UNIT_DIRS } from '../core/flavours.js';
import type { CommandRunner } from '../host/command-runner.js';
import type { HostFs } from '../host/host-fs.js';
import type { RuntimeFlavour, Settings } from '../settings/settings.js';

/** How the daemon's version was learnt: from the live daemon, from its binary, or not at all. */
export type VersionSource = 'socket' | 'binary' | 'none';

/** What detection learnt about the node's container runtime. */
export interface RuntimeReport {
  readonly flavour: RuntimeFlavour;
  readonly detectedBy: string;
  readonly configPath: string;
  readonly configExists: boolean;
  /** The file's `version` key (absent = 1), or undefined when the file is missing or unreadable. */
  readonly configVersion: number | undefined;
  readonly configError: string | undefined;
  readonly socket: string;
  readonly unit: string | undefined;
  readonly daemonVersion: string | undefined;
  readonly daemonVersionSource: VersionSource;
  readonly warnings: readonly string[];
}

/** The port that asks a live containerd for its version; undefined when nothing answers. */
export type SocketVersionProbe = (realSocketPath: string) => Promise<string | undefined>;

async function hasUnit(fs: HostFs, unit: string): Promise<string | undefined> {
  for (const dir of UNIT_DIRS) {
    if (await fs.exists(`${dir}/${unit}`)) return `${dir}/${unit}`;
  }
  return undefined;
}

/** Recognises the distribution from its unit files and marker files, most specific first. */
export async function detectFlavour(fs: HostFs): Promise<{ flavour: RuntimeFlavour; detectedBy: string }> {
  const hasContainerd = (await fs.exists('/usr/bin/containerd')) || (await fs.exists('/usr/local/bin/containerd'));
  for (const marker of FLAVOUR_MARKERS) {
    if (marker.flavour === 'crio' && hasContainerd) continue;
    for (const unit of marker.units) {
      const found = await hasUnit(fs, unit);
      if (found !== undefined) return { flavour: marker.flavour, detectedBy: `unit file ${found}` };
    }
    for (const file of marker.files) {
      if (await fs.exists(file)) return { flavour: marker.flavour, detectedBy: `file ${file}` };
    }
  }
  return { flavour: 'containerd', detectedBy: 'default (no k3s, rke2, k0s, microk8s or CRI-O markers found)' };
}

/** Reads containerd's `version` key; absent means version 1, as containerd itself reads it. */
export function readConfigVersion(text: string): number {
  const parsed = parseTomlValues(text) as { version?: unknown };
  if (parsed.version === undefined) return 1;
  if (typeof parsed.version !== 'number' || !Number.isInteger(parsed.version))
    throw new Error(`"version" must be an integer, found ${JSON.stringify(parsed.version)}`);
  return parsed.version;
}

async function daemonVersion(
  fs: HostFs,
  runner: CommandRunner,
  socket: string,
  probe: SocketVersionProbe,
): Promise<{ version: string | undefined; source: VersionSource }> {
  const stats = await fs.stat(socket).catch(() => undefined);
  if (stats?.isSocket()) {
    const version = await probe(await fs.realPath(socket)).catch(() => undefined);
    if (version !== undefined) return { version, source: 'socket' };
  }
  for (const binary of ['/usr/bin/containerd', '/usr/local/bin/containerd']) {
    if (!(await fs.exists(binary))) continue;
    const result = await runner.run(await fs.realPath(binary), ['--version'], { timeoutMs: 10_000 });
    const version = result.exitCode === 0 ? /\s(v?\d+\.\d+\.\d+\S*)/.exec(result.stdout)?.[1] : undefined;
    if (version !== undefined) return { version, source: 'binary' };
  }
  return { version: undefined, source: 'none' };
}

/** Gathers the runtime facts detection reports and install plans from. */
export async function detectRuntime(
  fs: HostFs,
  runner: CommandRunner,
  settings: Settings,
  probe: SocketVersionProbe,
): Promise<RuntimeReport> {
  const forced: RuntimeFlavour | undefined = settings.upstream.k8sDistribution === 'microk8s' ? 'microk8s' : undefined;
  const { flavour, detectedBy } =
    settings.runtime !== undefined
      ? { flavour: settings.runtime, detectedBy: '--runtime' }
      : forced !== undefined
        ? { flavour: forced, detectedBy: 'K8S_DISTRIBUTION=microk8s' }
        : await detectFlavour(fs);
  const layout = FLAVOUR_LAYOUTS[flavour];
  const { containerdConfigDir, containerdConfigFileName } = settings.upstream;
  const configPath =
    settings.containerdConfig ?? upstreamConfigPath(layout, containerdConfigDir, containerdConfigFileName);
  const socket =
    settings.containerdSocket !== '/run/containerd/containerd.sock' ? settings.containerdSocket : layout.socket;
  const warnings: string[] = [];
  const raw = await fs.readIfExists(configPath);
  let configVersion: number | undefined;
  let configError: string | undefined;
  if (raw !== undefined && flavour !== 'crio') {
    try {
      configVersion = readConfigVersion(raw.toString('utf8'));
    } catch (error) {
      configError = `${configPath}: ${(error as Error).message}`;
      warnings.push(`cannot read ${configPath}: ${(error as Error).message}`);
    }
  }
  const daemon =
    flavour === 'crio'
      ? { version: undefined, source: 'none' as const }
      : await daemonVersion(fs, runner, socket, probe);
  const semver: SemVer | undefined = daemon.version === undefined ? undefined : parseSemVer(daemon.version);
  if (semver !== undefined && configVersion !== undefined) {
    const mismatch = configVersionMismatch(semver, configVersion);
    if (mismatch !== undefined) warnings.push(`${configPath}: ${mismatch}`);
  }
  return {
    flavour,
    detectedBy,
    configPath,
    configExists: raw !== undefined,
    configVersion,
    configError,
    socket,
    unit: settings.unit ?? layout.unit,
    daemonVersion: daemon.version,
    daemonVersionSource: daemon.source,
    warnings,
  };
}
