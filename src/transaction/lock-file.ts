import { closeSync, constants, fstatSync, openSync } from 'node:fs';
import path from 'node:path';
import { KataDeployError } from '../core/errors.js';
import type { HostFs } from '../host/host-fs.js';

function refuse(hostPath: string, why: string): KataDeployError {
  return new KataDeployError('config-refused', `lock ${hostPath}: ${why}; nothing was changed`, {
    hint:
      `the lock directory ${path.posix.dirname(hostPath)} must be a root-owned directory only root can write; it ` +
      'holds nothing else, so remove it and run kata-deploy again',
  });
}

/**
 * Opens the node-wide lock file so that no other local user can take, steer or plant it: its directory
 * is a real directory we own that no one else can write to (created 0700), the file is opened without
 * following a symlink, and it must be a regular 0600 file we own (flock works on a read-only open).
 * Anything else is refused (exit 5) before anything is created. Returns the open fd.
 */
export async function openLockFile(fs: HostFs, hostPath: string): Promise<number> {
  const dir = path.posix.dirname(hostPath);
  const owner = process.geteuid?.() ?? 0;
  if ((await fs.lstat(dir)) === undefined) await fs.mkdirp(dir, 0o700);
  const dirStat = await fs.lstat(dir);
  if (dirStat === undefined || !dirStat.isDirectory())
    throw refuse(hostPath, `${dir} is not a directory (a symlink or file someone else put there?)`);
  if (dirStat.uid !== owner) throw refuse(hostPath, `${dir} is owned by uid ${dirStat.uid}, not root`);
  if ((dirStat.mode & 0o022) !== 0)
    throw refuse(hostPath, `${dir} has mode ${(dirStat.mode & 0o7777).toString(8)}, writable by other users`);
  const realFile = path.join(await fs.realPath(dir), path.posix.basename(hostPath));
  let fd: number;
  try {
    fd = openSync(realFile, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') throw refuse(hostPath, 'is a symlink');
    throw error;
  }
  const file = fstatSync(fd);
  const why = !file.isFile()
    ? 'is not a regular file'
    : file.uid !== owner
      ? `is owned by uid ${file.uid}, not root`
      : (file.mode & 0o077) !== 0
        ? `has mode ${(file.mode & 0o7777).toString(8)}: other users could open and hold it`
        : file.nlink !== 1
          ? `has ${file.nlink} hard links`
          : undefined;
  if (why !== undefined) {
    closeSync(fd);
    throw refuse(hostPath, why);
  }
  return fd;
}
