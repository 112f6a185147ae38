import { KataDeployError } from './errors.js';

const HINTS: Readonly<Record<string, string>> = {
  ENOSPC:
    'the host filesystem is full: free space (the payload needs room for a second tree while it is swapped in) and ' +
    'rerun',
  EDQUOT: 'a disk quota is exhausted on the host: raise it or free space, then rerun',
  EROFS:
    'a host path is on a read-only filesystem: mount it read-write into the pod (or choose INSTALLATION_PREFIX on a ' +
    'writable one)',
  EACCES:
    'kata-deploy lacks permission on a host path: it must run as root, and in the DaemonSet root has no ' +
    'CAP_DAC_OVERRIDE, so it writes only where the owner bits let root write: check the owner and mode of the path ' +
    'named above',
  EPERM:
    'the host refused the operation (immutable file, SELinux or AppArmor, or a capability the pod does not ' +
    'grant?): check the path named above',
  EISDIR: 'a directory is where kata-deploy expects a file: check the path named above',
  ENOTDIR: 'a file is where kata-deploy expects a directory: check the path named above',
  EBUSY:
    'the path named above is busy (a mount point?): kata-deploy cannot replace it; unmount it or pick another path',
  ELOOP: 'the path named above is a symlink loop (or a symlink where none may be): fix it and rerun',
};

/**
 * Wraps an unexpected failure of a run in a KataDeployError. The host errors an operator can fix (disk
 * full, read-only mount, permissions, a directory where a file belongs, a busy mount point) exit 5, the
 * code for host files kata-deploy cannot safely change, with a hint; anything else stays a bug report (1).
 */
export function unexpectedRunFailure(what: string, error: unknown): KataDeployError {
  if (error instanceof KataDeployError) return error;
  const code = (error as NodeJS.ErrnoException)?.code;
  const where = (error as NodeJS.ErrnoException)?.path;
  const text = (error as Error)?.message ?? String(error);
  const location = where !== undefined && !String((error as Error)?.message).includes(where) ? ` (${where})` : '';
  const message = `${what} failed: ${text}${location}`;
  const hint = code === undefined ? undefined : HINTS[code];
  if (hint !== undefined) return new KataDeployError('config-refused', message, { hint, cause: error });
  return new KataDeployError('internal', message, {
    hint:
      'this is a bug in kata-deploy or an unexpected host state; rerun with --log-level debug and report the output; ' +
      'the next run rolls back whatever this one left',
    cause: error,
  });
}
