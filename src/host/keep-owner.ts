import type { Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { KataDeployError } from '../core/errors.js';

/**
 * Gives the replacement of an edited host file the owner and group of the file it replaces. Changing
 * a file's owner needs CAP_CHOWN even for uid 0; the DaemonSet grants exactly that capability for this
 * step, so a pod started without it gets an error naming the file and the capability, not a bare EPERM.
 */
export async function keepOwner(handle: FileHandle, hostPath: string, existing: Stats): Promise<void> {
  try {
    await handle.chown(existing.uid, existing.gid);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') throw error;
    throw new KataDeployError(
      'config-refused',
      `cannot keep the owner ${existing.uid}:${existing.gid} of ${hostPath} when rewriting it: changing a file's ` +
        'owner needs CAP_CHOWN, which this process lacks',
      {
        hint:
          'grant CAP_CHOWN (daemonset.yaml adds it to the container: capabilities.add [CHOWN]) or make the file ' +
          'root:root; nothing was changed',
        cause: error,
      },
    );
  }
}
