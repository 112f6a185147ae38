import { spawn } from 'node:child_process';
import { KataDeployError } from '../core/errors.js';

/** One non-blocking attempt at an exclusive flock(2) on an open fd: taken, or held by someone else. */
export type TryLock = (fd: number) => Promise<'locked' | 'busy'>;

const LOCK_EX = 2;
const LOCK_NB = 4;
const EWOULDBLOCK = 11;

async function koffiTryLock(): Promise<TryLock> {
  const koffi = (await import('koffi')).default;
  const flock = koffi.load('libc.so.6').func('int flock(int fd, int operation)') as (fd: number, op: number) => number;
  return async (fd) => {
    if (flock(fd, LOCK_EX | LOCK_NB) === 0) return 'locked';
    const code = koffi.errno();
    if (code === EWOULDBLOCK) return 'busy';
    throw new KataDeployError('internal', `flock failed: errno ${code}`);
  };
}

/**
 * flock(2) through util-linux's flock(1) on our fd, passed as the child's fd 3: a flock belongs to the
 * open file description, so the lock stays with our fd after the child exits, and dies with us. For
 * nodes where koffi's native module is missing (none is published for s390x).
 */
export const utilLinuxTryLock: TryLock = (fd) =>
  new Promise((resolve, reject) => {
    const child = spawn('flock', ['--nonblock', '--exclusive', '3'], { stdio: ['ignore', 'ignore', 'pipe', fd] });
    let stderr = '';
    child.stderr?.on('data', (chunk) => {
      stderr += String(chunk);
    });
    child.on('error', (error: NodeJS.ErrnoException) => reject(flockFailed(error.code === 'ENOENT', error.message)));
    child.on('close', (code) => {
      if (code === 0) resolve('locked');
      else if (code === 1) resolve('busy');
      else reject(flockFailed(false, stderr.trim() || `exit ${code}`));
    });
  });

function flockFailed(missing: boolean, detail: string): KataDeployError {
  return new KataDeployError(
    'node-unsupported',
    missing
      ? "cannot lock: koffi's native module is not available here and util-linux flock is not installed"
      : `flock(1) failed: ${detail}`,
    { hint: 'install util-linux in the image, or use a platform koffi publishes a native module for' },
  );
}

let chosen: Promise<TryLock> | undefined;

/** koffi's flock when its native module loads, util-linux's flock(1) otherwise. */
export function tryLock(): Promise<TryLock> {
  chosen ??= koffiTryLock().catch(() => utilLinuxTryLock);
  return chosen;
}
