import { closeSync } from 'node:fs';
import { KataDeployError } from '../core/errors.js';
import type { Clock } from '../host/clock.js';
import type { HostFs } from '../host/host-fs.js';
import type { Logger } from '../host/logger.js';
import { type TryLock, tryLock } from '../host/flock.js';
import { openLockFile } from './lock-file.js';

/** A held host lock; release it when the run is done (the kernel releases it if we die). */
export interface HeldLock {
  release(): void;
}

/**
 * Takes the node-wide lock every kata-deploy run shares, waiting for a run in progress to finish.
 * flock(2) rather than a pid file: the kernel drops it when the holder dies, so a SIGKILLed installer
 * never leaves the node locked, across PID namespaces too. The file sits in a root-only directory
 * (openLockFile), so no other local user can hold it or plant a symlink in its place.
 */
export async function acquireHostLock(
  fs: HostFs,
  hostPath: string,
  deadlineMs: number,
  clock: Clock,
  log: Logger,
  lockOnce?: TryLock,
): Promise<HeldLock> {
  const attempt = lockOnce ?? (await tryLock());
  const fd = await openLockFile(fs, hostPath);
  const started = clock.now();
  let warned = false;
  try {
    for (;;) {
      if ((await attempt(fd)) === 'locked') return { release: () => closeSync(fd) };
      if (clock.now() - started > deadlineMs) {
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
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}
