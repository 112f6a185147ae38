import { closeSync, constants, openSync } from 'node:fs';
import { KataDeployError } from '../core/errors.js';
import type { Clock } from '../host/clock.js';
import type { HostFs } from '../host/host-fs.js';
import type { Logger } from '../host/logger.js';

const LOCK_EX = 2;
const LOCK_NB = 4;
const EWOULDBLOCK = 11;

/** A held host lock; release it when the run is done (the kernel releases it if we die). */
export interface HeldLock {
  release(): void;
}

type Flock = (fd: number, operation: number) => number;

let flockFn: Flock | undefined;

async function loadFlock(): Promise<{ flock: Flock; errno: () => number }> {
  const koffi = (await import('koffi')).default;
  flockFn ??= koffi.load('libc.so.6').func('int flock(int fd, int operation)') as Flock;
  return { flock: flockFn, errno: () => koffi.errno() };
}

/**
 * Takes the node-wide lock every kata-deploy run shares (a file under /run/lock on the host), waiting
 * for a run in progress to finish. flock(2) rather than a pid file: the kernel drops it when the holder
 * dies, so a SIGKILLed installer never leaves the node locked, across PID namespaces too.
 */
export async function acquireHostLock(
  fs: HostFs,
  hostPath: string,
  deadlineMs: number,
  clock: Clock,
  log: Logger,
): Promise<HeldLock> {
  const dir = hostPath.slice(0, hostPath.lastIndexOf('/')) || '/';
  await fs.mkdirp(dir);
  const fd = openSync(await fs.realPath(hostPath), constants.O_RDWR | constants.O_CREAT, 0o644);
  const { flock, errno } = await loadFlock();
  const started = clock.now();
  let warned = false;
  for (;;) {
    if (flock(fd, LOCK_EX | LOCK_NB) === 0) return { release: () => closeSync(fd) };
    const code = errno();
    if (code !== EWOULDBLOCK) {
      closeSync(fd);
      throw new KataDeployError('internal', `cannot lock ${hostPath}: errno ${code}`);
    }
    if (clock.now() - started > deadlineMs) {
      closeSync(fd);
      throw new KataDeployError(
        'internal',
        `another kata-deploy run has held ${hostPath} for over ${Math.round(deadlineMs / 1000)} s`,
        { hint: 'wait for it to finish, or find it with `fuser` on the lock file' },
      );
    }
    if (!warned) log.info({ lock: hostPath }, 'another kata-deploy run is in progress on this node; waiting for it');
    warned = true;
    await clock.sleep(200);
  }
}
