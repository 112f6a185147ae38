import { closeSync, constants, fstatSync, lstatSync, openSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { tryLock } from './flock.js';
import type { HostFs } from './host-fs.js';

/** One run's private directory (mode 0700) for throwaway files; `release` removes it. */
export interface ScratchDir {
  /** Real path of the directory. */
  readonly path: string;
  release(): Promise<void>;
}

/** Where a run puts throwaway copies of host files (configs for validation); a port so tests choose it. */
export interface ScratchSpace {
  open(): Promise<ScratchDir>;
}

/** Name prefix of per-run scratch dirs; the next run removes any whose owner died. */
export const SCRATCH_PREFIX = '.scratch-';

const OPEN_DIR = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

function openDir(real: string): number | undefined {
  try {
    return openSync(real, OPEN_DIR);
  } catch {
    return undefined;
  }
}

/**
 * Removes the scratch dirs whose owner is gone. Each live run holds a flock on its own dir, which the
 * kernel drops when the run dies (even by SIGKILL), so a free lock means a leftover, and a held one a
 * run in progress (a dry run takes no host lock, so "under the host lock" alone would not tell).
 */
export async function sweepLeftovers(parent: string): Promise<void> {
  for (const name of await readdir(parent).catch(() => [])) {
    if (!name.startsWith(SCRATCH_PREFIX)) continue;
    const real = path.join(parent, name);
    const fd = openDir(real);
    if (fd === undefined) continue;
    try {
      if ((await (await tryLock())(fd)) === 'locked') await rm(real, { recursive: true, force: true });
    } finally {
      closeSync(fd);
    }
  }
}

/** The missing directories on the way to `hostDir`, outermost first. */
export async function missingDirs(fs: HostFs, hostDir: string): Promise<string[]> {
  const missing: string[] = [];
  for (let dir = hostDir; dir !== '/'; dir = path.posix.dirname(dir)) {
    if (await fs.exists(dir)) break;
    missing.unshift(dir);
  }
  return missing;
}

/** A fresh dir under `parent`, locked by us; retried if a sweeping run removed it before we locked it. */
async function lockedScratchDir(parent: string): Promise<{ real: string; fd: number }> {
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const real = await mkdtemp(path.join(parent, SCRATCH_PREFIX));
    const fd = openDir(real);
    if (fd === undefined) continue;
    const locked = (await (await tryLock())(fd)) === 'locked';
    const stillThere = locked && lstatSync(real, { throwIfNoEntry: false })?.ino === fstatSync(fd).ino;
    if (stillThere) return { real, fd };
    closeSync(fd);
  }
  throw new Error(`could not create a scratch dir in ${parent}: other runs kept removing it`);
}

/**
 * Per-run scratch dirs under a host directory kata-deploy owns (default /var/lib/kata-deploy): 0700,
 * unguessable names, never in a world-writable directory, on the host (in the pod: the state dir's
 * hostPath, never the container's read-only root). The first open sweeps what killed runs left.
 * Directories it had to create on the way are removed again on release when empty, so a dry run or a
 * refused install leaves no trace.
 */
export function installerScratch(fs: HostFs, hostDir: string): ScratchSpace {
  let swept = false;
  // Shared by this run's overlapping validations: whichever opens first may create the ancestors, and they
  // are removed when the last one is released. Per-open bookkeeping left them behind when the creator
  // released while another scratch dir still held them (and the ledger then took them for the operator's).
  const created: string[] = [];
  let open = 0;
  return {
    async open() {
      open += 1;
      try {
        for (const dir of await missingDirs(fs, hostDir)) if (!created.includes(dir)) created.push(dir);
        await fs.mkdirp(hostDir);
        const parent = await fs.realPath(hostDir);
        if (!swept) await sweepLeftovers(parent);
        swept = true;
        const { real, fd } = await lockedScratchDir(parent);
        return {
          path: real,
          async release() {
            await rm(real, { recursive: true, force: true });
            closeSync(fd);
            await releaseOne();
          },
        };
      } catch (error) {
        await releaseOne();
        throw error;
      }
    },
  };

  async function releaseOne(): Promise<void> {
    open -= 1;
    if (open > 0) return;
    for (const dir of created.splice(0).sort().reverse()) {
      // Not empty or gone: another run is using it (or removed it); either way not ours to touch now.
      await fs.rmdir(dir).catch(() => undefined);
    }
  }
}
