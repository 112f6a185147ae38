import { createHash } from 'node:crypto';
import { closeSync, lstatSync, readlinkSync, readSync } from 'node:fs';
import type { ManifestEntry } from './manifest.js';
import { openNoAtime } from './no-atime.js';

/** Streams a file through sha256 in 1 MiB reads: a 300 MB guest image must not sit in memory. */
export function fileSha256(real: string): string {
  const fd = openNoAtime(real);
  try {
    const hash = createHash('sha256');
    const chunk = Buffer.alloc(1 << 20);
    for (let n = readSync(fd, chunk); n > 0; n = readSync(fd, chunk)) hash.update(chunk.subarray(0, n));
    return hash.digest('hex');
  } finally {
    closeSync(fd);
  }
}

/**
 * True when the path still holds what the manifest says we put there, so removing it cannot delete
 * someone else's file: a link with the same target, or a regular file of the same size whose stat
 * (mode, mtime) is untouched or, for an entry of an old manifest that recorded one, whose bytes hash
 * to the recorded sha256. A file of ours that was only chmod'ed or touched since is therefore kept (and
 * named) by an uninstall of a current install: its bytes can no longer be vouched for. Directories
 * are never judged here: they are only ever removed when empty.
 */
export function stillOurs(real: string, entry: ManifestEntry): boolean {
  let stats: ReturnType<typeof lstatSync>;
  try {
    stats = lstatSync(real);
  } catch {
    return false;
  }
  if (entry.type === 'symlink') return stats.isSymbolicLink() && readlinkSync(real) === entry.target;
  if (entry.type !== 'file' || !stats.isFile() || stats.size !== entry.size) return false;
  const untouched = (stats.mode & 0o7777) === entry.mode && Math.floor(stats.mtimeMs / 1000) === entry.mtime;
  return untouched || (entry.sha256 !== undefined && fileSha256(real) === entry.sha256);
}
