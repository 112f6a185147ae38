import { closeSync, constants, openSync } from 'node:fs';
import { KataDeployError } from '../core/errors.js';
import type { Clock } from '../host/clock.js';
import type { HostFs } from '../host/host-fs.js';
import { FlockError, tryExclusiveLock } from '../host/flock.js';
import type { Logger } from '../host/logger.js';

/** A held host lock; release it when the run is done (the kernel releases it if we die). */
export interface HeldLock {
  release(): void;
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
  const started = clock.now();
  let warned = false;
  for (;;) {
    const taken = await tryExclusiveLock(fd).catch((error: unknown) => {
      closeSync(fd);
      if (!(error instanceof FlockError)) throw error;
      throw new KataDeployError('internal', `cannot lock ${hostPath}: errno ${error.errno}`);
    });
    if (taken) return { release: () => closeSync(fd) };
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
