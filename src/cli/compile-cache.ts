import { lstatSync, mkdirSync } from 'node:fs';
import module from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * A directory for V8's code cache that only this user can write: `<tmp>/kata-deploy-compile-cache-<uid>`,
 * mode 0700. Node's default, `<tmp>/node-compile-cache`, is a name any user of the host can create first,
 * and a root install would then load code cache (compiled bytecode) that user planted. Undefined when the
 * path exists but is not ours alone (a symlink, another owner, group or other access) or cannot be made:
 * the cache is then skipped, never trusted.
 */
export function privateCacheDir(tmp: string, uid: number | undefined): string | undefined {
  if (uid === undefined) return undefined;
  const dir = path.join(tmp, `kata-deploy-compile-cache-${uid}`);
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return undefined;
  }
  const stats = lstatSync(dir, { throwIfNoEntry: false });
  if (stats === undefined || !stats.isDirectory() || stats.uid !== uid || (stats.mode & 0o077) !== 0) return undefined;
  return dir;
}

/**
 * Turns on Node's compile cache (a later run skips most module compilation, about a fifth of a converged
 * reinstall) in privateCacheDir(), or where NODE_COMPILE_CACHE says (the operator's choice); off with
 * NODE_DISABLE_COMPILE_CACHE=1. Best effort: no usable dir, or a Node without the API, means no cache.
 */
export function enablePrivateCompileCache(): void {
  const enable = (module as { enableCompileCache?: (dir?: string) => unknown }).enableCompileCache;
  if (enable === undefined || process.env.NODE_DISABLE_COMPILE_CACHE !== undefined) return;
  if (process.env.NODE_COMPILE_CACHE !== undefined) {
    enable();
    return;
  }
  const dir = privateCacheDir(tmpdir(), process.getuid?.());
  if (dir !== undefined) enable(dir);
}
