import type { Stats } from 'node:fs';

// Builtins are fetched when used, not imported: the bundler hoists static imports into the idle daemon's
// entry file, and importing node:module and node:path there measurably grew the supervisor (about 2 MiB).
const fs = () => process.getBuiltinModule('node:fs');
const path = () => process.getBuiltinModule('node:path');

/** The node's own dir for the cache: beside the host lock, on a tmpfs that a reboot empties. */
const CACHE_PARENT = 'run/kata-deploy';

function ours(stats: Stats | undefined, uid: number): boolean {
  return stats?.isDirectory() === true && stats.uid === uid && (stats.mode & 0o022) === 0;
}

/**
 * A directory for V8's code cache in the directory kata-deploy already owns on the node
 * (`<host root>/run/kata-deploy/compile-cache-<uid>`, mode 0700), so the CLI leaves nothing in the host's
 * /tmp, and no other user can plant compiled code that a root install would load. Undefined, and the cache
 * skipped, when /run/kata-deploy does not exist yet (no run ever took the lock: the cache starts with the
 * second run rather than the CLI making that dir itself), or when either dir is not ours alone (a symlink,
 * another owner, writable by others), or cannot be made.
 */
export function privateCacheDir(hostRoot: string, uid: number | undefined): string | undefined {
  if (uid === undefined) return undefined;
  const parent = path().join(hostRoot, CACHE_PARENT);
  if (!ours(fs().lstatSync(parent, { throwIfNoEntry: false }), uid)) return undefined;
  const dir = path().join(parent, `compile-cache-${uid}`);
  try {
    fs().mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return undefined;
  }
  const stats = fs().lstatSync(dir, { throwIfNoEntry: false });
  return ours(stats, uid) && ((stats?.mode ?? 0o777) & 0o077) === 0 ? dir : undefined;
}

/**
 * The host root as cheaply as it can be known before the settings are parsed: `--host-root <dir>` or
 * `--host-root=<dir>` on the command line, else HOST_ROOT (what the pod sets), else `/`. The same sources
 * the settings read, so the cache sits beside the lock the run takes.
 */
export function hostRootOf(argv: readonly string[], env: NodeJS.ProcessEnv): string {
  for (const [index, arg] of argv.entries()) {
    if (arg === '--host-root' && argv[index + 1] !== undefined) return argv[index + 1] as string;
    if (arg.startsWith('--host-root=')) return arg.slice('--host-root='.length);
  }
  return env.HOST_ROOT !== undefined && env.HOST_ROOT !== '' ? env.HOST_ROOT : '/';
}

/**
 * Opt-in (KATA_DEPLOY_COMPILE_CACHE=1): Node's compile cache in privateCacheDir(), so a later run skips most
 * module compilation. Off by default because it is a dir that outlives the run, which a refused install
 * must not leave and an operator would not expect. NODE_COMPILE_CACHE=<dir> is Node's own switch and needs
 * nothing from us; NODE_DISABLE_COMPILE_CACHE=1 wins over both. Best effort: no usable dir, or a Node
 * without the API, means no cache.
 */
export function enablePrivateCompileCache(argv: readonly string[], env: NodeJS.ProcessEnv): void {
  const enable = (process.getBuiltinModule('node:module') as { enableCompileCache?: (dir?: string) => unknown })
    .enableCompileCache;
  if (enable === undefined || env.NODE_DISABLE_COMPILE_CACHE !== undefined) return;
  if (env.KATA_DEPLOY_COMPILE_CACHE !== '1' || env.NODE_COMPILE_CACHE !== undefined) return;
  const dir = privateCacheDir(hostRootOf(argv, env), process.getuid?.());
  if (dir !== undefined) enable(dir);
}

// Where scripts/bundle.mjs writes V8's code cache for the CLI, beside the entry, and the stamp naming the Node
// that made it (`<version> <arch>`), in the same words as it.
const SHIPPED_CACHE_DIR = 'compile-cache';
const SHIPPED_CACHE_STAMP = 'made-by';

/**
 * The bundle's own code cache (scripts/bundle.mjs makes it with the Node that builds the image, which is
 * the image's Node): the CLI's modules skip most compilation (`--version` 103 -> 90 ms). Taken only when
 * nothing else chose a cache, by the very Node release that made it (its stamp), with no flags on the
 * command line or in NODE_OPTIONS (they change V8's flag hash, and Node would then write a second cache
 * beside the shipped one). A cache V8 rejects is compiled around, never an error. Nothing is written:
 * every module the CLI loads is in it. Returns whether it was enabled.
 */
export function enableShippedCompileCache(entryUrl: string, env: NodeJS.ProcessEnv): boolean {
  const module = process.getBuiltinModule('node:module') as {
    enableCompileCache?: (options: { directory: string; portable: boolean }) => unknown;
    getCompileCacheDir?: () => string | undefined;
  };
  if (module.enableCompileCache === undefined || module.getCompileCacheDir?.() !== undefined) return false;
  if (env.NODE_DISABLE_COMPILE_CACHE !== undefined || env.NODE_COMPILE_CACHE !== undefined) return false;
  if (process.execArgv.length > 0 || (env.NODE_OPTIONS ?? '').trim() !== '') return false;
  const { fileURLToPath } = process.getBuiltinModule('node:url');
  const dir = path().join(path().dirname(fileURLToPath(entryUrl)), SHIPPED_CACHE_DIR);
  let stamp: string;
  try {
    stamp = fs().readFileSync(path().join(dir, SHIPPED_CACHE_STAMP), 'utf8');
  } catch {
    return false;
  }
  if (stamp !== `${process.version} ${process.arch}\n`) return false;
  module.enableCompileCache({ directory: dir, portable: true });
  return true;
}
