import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';
import { KataDeployError } from '../core/errors.js';

/** True for the name a backup can have: a lowercase hex sha256 (anything else could walk out of backups/). */
export function isBackupDigest(digest: unknown): digest is string {
  return typeof digest === 'string' && /^[0-9a-f]{64}$/.test(digest);
}

function refused(file: string, why: string): KataDeployError {
  return new KataDeployError('config-refused', `backup ${file} ${why}; refusing to restore from it`, {
    hint:
      'nothing was restored from it; backups are regular files kata-deploy writes 0600 as root: restore the ' +
      'original from your configuration management and inspect the state dir',
  });
}

/**
 * Reads a backup without following a symlink at its name (O_NOFOLLOW), and only when it is a regular
 * file owned by us (root on a node) that nobody else can write: a planted link to /etc/shadow would
 * otherwise be "restored" into a world-readable config file.
 */
export function readOwnBackup(real: string, shownAs: string): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw refused(shownAs, 'is a symlink');
    throw error;
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw refused(shownAs, 'is not a regular file');
    if (stats.uid !== (process.getuid?.() ?? 0)) throw refused(shownAs, `is owned by uid ${stats.uid}, not by us`);
    if ((stats.mode & 0o022) !== 0)
      throw refused(shownAs, `is writable by others (mode ${(stats.mode & 0o777).toString(8)})`);
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}
