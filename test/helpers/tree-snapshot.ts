import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import path from 'node:path';

/**
 * Every path under `root` with its type, mode and content digest (or link target): two snapshots are
 * equal only if the tree is byte-for-byte the same, which is what "leaves the host as it was" means.
 * With `times`, modification and change times count too: equal snapshots then mean nothing was written.
 */
export async function snapshotTree(root: string, options: { times?: boolean } = {}): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function walk(dir: string): Promise<void> {
    for (const name of (await readdir(dir)).sort()) {
      const full = path.join(dir, name);
      const rel = path.relative(root, full);
      const stats = await lstat(full);
      const mode = `${(stats.mode & 0o7777).toString(8)}${options.times ? ` m${stats.mtimeMs} c${stats.ctimeMs}` : ''}`;
      if (stats.isSymbolicLink()) out[rel] = `link ${await readlink(full)}`;
      else if (stats.isDirectory()) {
        out[rel] = `dir ${mode}`;
        await walk(full);
      } else
        out[rel] = `file ${mode} ${createHash('sha256')
          .update(await readFile(full))
          .digest('hex')}`;
    }
  }
  await walk(root);
  return out;
}
