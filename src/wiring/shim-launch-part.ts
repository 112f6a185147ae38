import { access, constants } from 'node:fs/promises';
import type { SemVer } from '../core/containerd-version.js';
import { KataDeployError } from '../core/errors.js';
import type { HandlerSpec } from '../core/handlers.js';
import {
  planShimLinks,
  type RuntimeProcessFacts,
  type ShimLink,
  runtimePathHonoured,
  shimBinaryName,
  shimLookupOrder,
} from '../core/shim-lookup.js';
import { readRuntimeProcessFacts } from '../detect/runtime-process.js';
import type { HostFs } from '../host/host-fs.js';
import type { Logger } from '../host/logger.js';
import { connectSystemd } from '../systemd/systemd-client.js';
import type { ShimLaunchPart, ShimResolution } from '../transaction/parts.js';
import { assertLinksPlaceable } from '../transaction/shim-links.js';

/** What decides how the runtime finds a shim: which runtime, its release, and how to find its process. */
export interface ShimLaunchOptions {
  /** CRI-O execs runtime_path in every release we support; containerd depends on its release. */
  readonly runtime: 'containerd' | 'crio';
  readonly daemonVersion: SemVer | undefined;
  /** The daemon's pid (its unit's MainPID), or undefined when it cannot be asked. */
  readonly mainPid: () => Promise<number | undefined>;
  /** The daemon's systemd unit, whose files say its PATH when its process cannot be read. */
  readonly unit: string | undefined;
}

function releaseText(version: SemVer | undefined): string {
  return version === undefined
    ? 'containerd (release unknown, taken to exec runtime_path)'
    : `containerd ${version.major}.${version.minor}.${version.patch}`;
}

async function isOurShim(fs: HostFs, file: string, shim: string): Promise<boolean> {
  const [found, wanted] = await Promise.all([fs.canonical(file), fs.canonical(shim)]);
  return found === wanted;
}

async function resolveByPath(fs: HostFs, handler: HandlerSpec, facts: RuntimeProcessFacts): Promise<ShimResolution> {
  const candidates = shimLookupOrder(handler.runtimeType, facts);
  for (const candidate of candidates) {
    const stats = await fs.stat(candidate);
    if (stats === undefined || !stats.isFile()) continue;
    const launchable = (stats.mode & 0o111) !== 0 && (await isOurShim(fs, candidate, handler.runtimePath));
    return {
      handler: handler.name,
      via: 'PATH',
      exec: candidate,
      launchable,
      reason: launchable
        ? `runs ${candidate} → ${handler.runtimePath}`
        : `would run ${candidate}, which is not kata-deploy's shim ${handler.runtimePath}`,
    };
  }
  const name = shimBinaryName(handler.runtimeType) ?? handler.runtimeType;
  return {
    handler: handler.name,
    via: 'PATH',
    exec: undefined,
    launchable: false,
    reason: `finds no ${name} in ${candidates.join(', ')} (PATH from ${facts.source})`,
  };
}

async function resolveByRuntimePath(fs: HostFs, handler: HandlerSpec): Promise<ShimResolution> {
  const stats = await fs.stat(handler.runtimePath);
  const launchable = stats?.isFile() === true && (stats.mode & 0o111) !== 0;
  return {
    handler: handler.name,
    via: 'runtime_path',
    exec: handler.runtimePath,
    launchable,
    reason: launchable
      ? `runs ${handler.runtimePath}`
      : `runtime_path ${handler.runtimePath} is missing or not executable`,
  };
}

/** Whether a PATH entry is a directory we can create links in (a read-only mount is not). */
async function writableDir(fs: HostFs, dir: string): Promise<boolean> {
  if (!(await fs.stat(dir))?.isDirectory()) return false;
  return access(await fs.realPath(dir), constants.W_OK).then(
    () => true,
    () => false,
  );
}

/** Refuses a link that a file earlier in containerd's lookup (its working directory, earlier PATH) would shadow. */
async function assertNotShadowed(
  fs: HostFs,
  link: ShimLink,
  handlers: readonly HandlerSpec[],
  facts: RuntimeProcessFacts,
): Promise<void> {
  const handler = handlers.find((candidate) => candidate.name === link.handler);
  if (handler === undefined) return;
  const order = shimLookupOrder(handler.runtimeType, facts);
  for (const earlier of order.slice(0, order.indexOf(link.path))) {
    if ((await fs.stat(earlier)) === undefined) continue;
    throw new KataDeployError(
      'config-refused',
      `${earlier} exists and comes before ${link.path} in containerd's shim lookup for handler ${link.handler}` +
        ` (PATH from ${facts.source})`,
      { hint: `nothing was changed; remove ${earlier} (containerd would run it instead of Kata's shim)` },
    );
  }
}

/**
 * The transaction's ShimLaunchPart: on containerd releases that ignore runtime_path, per-handler links in the
 * first writable directory of the daemon's PATH (refused if anything earlier in its lookup holds the name);
 * everywhere, the proof that each handler's shim resolves to ours.
 */
export function shimLaunchPart(options: ShimLaunchOptions, fs: HostFs): ShimLaunchPart {
  // An unknown release (no socket, no binary under the host root) is taken to be a current one: every
  // release since 1.7.1 (2023) execs runtime_path, and nothing here could tell where to link otherwise.
  const honoured =
    options.runtime === 'crio' || options.daemonVersion === undefined || runtimePathHonoured(options.daemonVersion);
  const facts = async () => readRuntimeProcessFacts(fs, await options.mainPid().catch(() => undefined), options.unit);
  const release = releaseText(options.daemonVersion);
  return {
    async describe() {
      if (honoured) return `${options.runtime === 'crio' ? 'CRI-O' : release} execs runtime_path`;
      return `${release} ignores runtime_path; shims resolved on its PATH (from ${(await facts()).source})`;
    },
    async plan(handlers, recorded) {
      if (honoured || handlers.length === 0) return { wanted: [], toWrite: [] };
      const current = await facts();
      const existing = new Set<string>();
      for (const dir of current.path) if (await writableDir(fs, dir)) existing.add(dir);
      const planned = planShimLinks(handlers, current, existing);
      if (planned === undefined) {
        throw new KataDeployError(
          'config-refused',
          `${release} ignores runtime_path, and no directory of its PATH (${current.path.join(':')}, from ` +
            `${current.source}) exists and is writable here to hold the handlers' shim links`,
          {
            hint:
              'nothing was changed; make /usr/local/sbin exist and writable (in the DaemonSet: a hostPath volume ' +
              'at /host/usr/local/sbin), or upgrade containerd to 1.6.21+ or 1.7.1+',
          },
        );
      }
      for (const link of planned.links) await assertNotShadowed(fs, link, handlers, current);
      const toWrite = await assertLinksPlaceable(fs, planned.links, recorded, release);
      return { wanted: planned.links, toWrite };
    },
    async resolve(handlers) {
      if (honoured) return Promise.all(handlers.map((handler) => resolveByRuntimePath(fs, handler)));
      const current = await facts();
      return Promise.all(handlers.map((handler) => resolveByPath(fs, handler, current)));
    },
  };
}

/** The unit's MainPID over systemd's private socket, or undefined without a unit, a socket or a process. */
export async function unitMainPid(
  fs: HostFs,
  systemdSocket: string,
  unit: string | undefined,
  log: Logger,
): Promise<number | undefined> {
  if (unit === undefined || !(await fs.stat(systemdSocket))?.isSocket()) return undefined;
  const systemd = await connectSystemd(await fs.realPath(systemdSocket), log);
  try {
    const pid = (await systemd.unitState(unit)).mainPid;
    return pid > 0 ? pid : undefined;
  } finally {
    systemd.close();
  }
}
