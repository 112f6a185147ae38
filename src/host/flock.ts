const LOCK_EX = 2;
const LOCK_NB = 4;
const EWOULDBLOCK = 11;

type Flock = (fd: number, operation: number) => number;

let flockFn: Flock | undefined;

async function loadFlock(): Promise<{ flock: Flock; errno: () => number }> {
  const koffi = (await import('koffi')).default;
  flockFn ??= koffi.load('libc.so.6').func('int flock(int fd, int operation)') as Flock;
  return { flock: flockFn, errno: () => koffi.errno() };
}

/** Why flock(2) failed, other than the lock being held. */
export class FlockError extends Error {
  constructor(readonly errno: number) {
    super(`flock failed: errno ${errno}`);
  }
}

/**
 * Tries to take an exclusive flock(2) on an open file or directory without waiting: true when taken,
 * false when another open file holds it. flock rather than pid files because the kernel drops the lock
 * when its holder dies, so a SIGKILLed run is seen as gone, across PID namespaces too.
 */
export async function tryExclusiveLock(fd: number): Promise<boolean> {
  const { flock, errno } = await loadFlock();
  if (flock(fd, LOCK_EX | LOCK_NB) === 0) return true;
  const code = errno();
  if (code === EWOULDBLOCK) return false;
  throw new FlockError(code);
}
