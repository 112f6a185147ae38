import type { SemVer } from './containerd-version.js';

/**
 * Whether a containerd release execs a handler's `runtime_path`. containerd 1.6.0 added the key, but its
 * client set the path on a private field that never reached the task request (containerd commit 6870f3b1b);
 * the fix (97064b07, "WithRuntimePath uses the TaskInfo.RuntimePath field") shipped in 1.6.21 and 1.7.1.
 * So every release before 1.6.21, and 1.7.0, resolves the shim from `runtime_type` on its own PATH.
 */
export function runtimePathHonoured(daemon: SemVer): boolean {
  if (daemon.major !== 1) return daemon.major > 1;
  if (daemon.minor === 6) return daemon.patch >= 21;
  if (daemon.minor === 7) return daemon.patch >= 1;
  return daemon.minor > 7;
}

/** `io.containerd.kata-qemu.v2` → `containerd-shim-kata-qemu-v2`, as containerd names a shim binary. */
export function shimBinaryName(runtimeType: string): string | undefined {
  const parts = runtimeType.split('.');
  if (parts.length < 2) return undefined;
  return `containerd-shim-${parts[parts.length - 2]}-${parts[parts.length - 1]}`;
}

/** What decides where containerd finds a shim by name: its working directory, PATH and own location. */
export interface RuntimeProcessFacts {
  /** Host path of the daemon's working directory. */
  readonly cwd: string;
  /** The daemon's PATH entries, in order. */
  readonly path: readonly string[];
  /** Host path of the directory holding the daemon's executable. */
  readonly exeDir: string;
  /** Where these facts were read (`/proc/1234/environ`, or the default PATH when no process was found). */
  readonly source: string;
}

/** The PATH systemd gives a service that sets none (`systemd-path search-binaries-default`). */
export const SYSTEMD_DEFAULT_PATH: readonly string[] = [
  '/usr/local/sbin',
  '/usr/local/bin',
  '/usr/sbin',
  '/usr/bin',
  '/sbin',
  '/bin',
];

/**
 * The files containerd tries, in order, for a shim named by `runtime_type`: the name beside its working
 * directory, then each absolute PATH entry, then beside its own executable. The first that exists is
 * exec'ed; relative PATH entries are skipped (Go's exec.LookPath refuses them).
 */
export function shimLookupOrder(runtimeType: string, facts: RuntimeProcessFacts): string[] {
  const name = shimBinaryName(runtimeType);
  if (name === undefined) return [];
  const dirs = [facts.cwd, ...facts.path.filter((dir) => dir.startsWith('/')), facts.exeDir];
  return [...new Set(dirs.map((dir) => `${dir.replace(/\/+$/, '')}/${name}`))];
}

/** A per-handler link we place so a runtime that ignores runtime_path finds the handler's shim. */
export interface ShimLink {
  readonly handler: string;
  /** Host path of the link, in a directory on the runtime's PATH. */
  readonly path: string;
  /** The shim binary under the install dir (the handler's runtime_path). */
  readonly target: string;
}

/**
 * Where a handler's link goes: the first PATH directory we can write, since no later directory can shadow a
 * name found there (the caller checks the earlier entries). `usableDirs` lists the PATH entries that exist
 * on the host and are writable.
 */
export function planShimLinks(
  handlers: readonly { readonly name: string; readonly runtimeType: string; readonly runtimePath: string }[],
  facts: RuntimeProcessFacts,
  usableDirs: ReadonlySet<string>,
): { readonly dir: string; readonly links: ShimLink[] } | undefined {
  const entry = facts.path.find((candidate) => candidate.startsWith('/') && usableDirs.has(candidate));
  if (entry === undefined) return undefined;
  const dir = entry.replace(/(.)\/+$/, '$1');
  const links = handlers.flatMap((handler) => {
    const name = shimBinaryName(handler.runtimeType);
    return name === undefined ? [] : [{ handler: handler.name, path: `${dir}/${name}`, target: handler.runtimePath }];
  });
  return { dir, links };
}
