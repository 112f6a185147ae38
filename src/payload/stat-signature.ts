import { lstatSync, type BigIntStats } from 'node:fs';

/**
 * A file's stat signature, `inode:ctime-ns`, the way git's index tells an untouched file without reading
 * it: the kernel sets ctime on every write, chmod, chown, utime, link and unlink of the inode, and no
 * caller can set it back, so an equal signature means the very inode we finished writing, unchanged.
 */
export function statSignature(stats: Pick<BigIntStats, 'ino' | 'ctimeNs'>): string {
  return `${stats.ino}:${stats.ctimeNs}`;
}

/** The stat signature of a path (not following a last symlink); undefined when it is gone. */
export function signatureOf(file: string): string | undefined {
  const stats = lstatSync(file, { bigint: true, throwIfNoEntry: false });
  return stats === undefined ? undefined : statSignature(stats);
}
