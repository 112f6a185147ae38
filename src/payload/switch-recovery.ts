import { closeSync, constants, fsyncSync, lstatSync, openSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { listLeftovers, locateInstallDir, removeCreatedDirs } from './install-location.js';
import { exchangePaths } from './libc.js';
import { manifestPath, pendingManifestPath, readManifests, type PayloadManifest } from './manifest.js';
import type { PayloadSettings } from './types.js';
import type { PayloadPorts } from './types.js';

function inodeOf(real: string): number | undefined {
  try {
    return lstatSync(real).ino;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Makes a rename in `dir` durable. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Puts the tree `from` at `installReal`: one atomic exchange when something is there (the displaced
 * tree ends up at `from`), else a rename. Falls back to two renames where the filesystem cannot
 * exchange; a crash between them leaves no install dir, which the next run's recovery repairs because
 * the tree to bring back is found by inode. Returns where the displaced tree now is, if any.
 */
export function putInPlace(from: string, installReal: string, asideName: string): string | undefined {
  if (inodeOf(installReal) === undefined) {
    renameSync(from, installReal);
    return undefined;
  }
  try {
    exchangePaths(from, installReal);
    return from;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'ENOSYS' && code !== 'ENOTSUP') throw error;
    renameSync(installReal, asideName);
    renameSync(from, installReal);
    return asideName;
  }
}

/**
 * The root inode of the tree that must be at the install dir after recovery, or `keep` for whatever is
 * there now. A pending manifest means a switch was neither finalized nor reverted: the install that
 * started it did not commit, so the tree it replaced comes back (the transaction's own recovery rolls
 * the configs back the same way). Without one, the current manifest's tree is the committed one.
 */
function treeToKeep(
  current: PayloadManifest | undefined,
  pending: PayloadManifest | undefined,
  installIno: number | undefined,
): number | null | 'keep' {
  if (pending !== undefined && pending.replacesRootInode !== undefined) return pending.replacesRootInode;
  if (pending !== undefined) return 'keep';
  if (installIno !== undefined) return 'keep';
  return current?.rootInode ?? 'keep';
}

/** What the caller knows that the payload area cannot: whether the install behind a switch committed. */
export interface RecoveryOptions {
  /** True when the transaction's ledger recorded this pending payload as installed (commit happened). */
  readonly committed?: (pending: PayloadManifest) => boolean;
}

/**
 * Resolves what an interrupted run left beside the install dir, before anything else touches it:
 * brings back the tree an unfinished switch replaced (or the tree a crash between two renames left
 * aside), drops the pending manifest, then deletes the other staging/old trees. A tree that is the only
 * copy of the committed or replaced install is never deleted. Safe because the caller holds the
 * node-wide kata-deploy lock. Returns the real paths of the leftover trees it deleted.
 */
export async function resolveInterruptedSwitch(
  settings: Pick<PayloadSettings, 'installDir' | 'multiInstallSuffix'>,
  ports: PayloadPorts,
  options: RecoveryOptions = {},
): Promise<string[]> {
  if (!(await ports.fs.exists(pendingManifestPath(settings)))) {
    const real = await locateInstallDir(ports.fs, settings.installDir);
    if (real === undefined || listLeftovers(real).length === 0) return [];
  }
  const { current, pending } = await readManifests(settings, ports.fs);
  const installDir = pending?.installDir ?? current?.installDir ?? settings.installDir;
  const installReal = await locateInstallDir(ports.fs, installDir);
  if (installReal === undefined) return [];
  const leftovers = listLeftovers(installReal);
  if (leftovers.length === 0 && pending === undefined) return [];
  const installIno = inodeOf(installReal);
  const finishing = pending !== undefined && installIno === pending.rootInode && options.committed?.(pending) === true;
  if (finishing) {
    ports.log.info({ installDir }, 'the install that switched to this tree committed; finishing the switch');
    await ports.fs.rename(pendingManifestPath(settings), manifestPath(settings));
  }
  const keep = finishing ? 'keep' : treeToKeep(current, pending, installIno);
  const aside = (): string =>
    path.join(
      path.dirname(installReal),
      `.kata-deploy-old.${path.basename(installReal)}.${process.pid}-${randomBytes(4).toString('hex')}`,
    );

  if (finishing) {
    // the manifest was promoted above; the replaced tree is an ordinary leftover now
  } else if (keep === null && installIno !== undefined && installIno === pending?.rootInode) {
    ports.log.warn({ installDir }, 'an interrupted first install was not committed; removing its tree');
    renameSync(installReal, aside());
    fsyncDir(path.dirname(installReal));
  } else if (typeof keep === 'number' && installIno !== keep) {
    const saved = leftovers.find((leftover) => leftover.ino === keep);
    if (saved === undefined) {
      ports.log.warn({ installDir }, 'the tree an interrupted run replaced is gone; keeping the one in place');
      if (pending !== undefined && installIno === pending.rootInode) {
        await ports.fs.rename(pendingManifestPath(settings), manifestPath(settings));
      }
    } else {
      ports.log.warn(
        { installDir, from: saved.path },
        'an interrupted run left the previous tree aside; putting it back',
      );
      putInPlace(saved.path, installReal, aside());
      fsyncDir(path.dirname(installReal));
    }
  } else if (
    keep === 'keep' &&
    pending !== undefined &&
    pending.replacesRootInode === undefined &&
    installIno === pending.rootInode
  ) {
    await ports.fs.rename(pendingManifestPath(settings), manifestPath(settings));
  }
  await ports.fs.remove(pendingManifestPath(settings));

  const inPlace = inodeOf(installReal);
  const committed = (await readManifests(settings, ports.fs)).current?.rootInode;
  const precious = new Set([committed, keep].filter((ino) => typeof ino === 'number'));
  const deleted: string[] = [];
  for (const leftover of listLeftovers(installReal)) {
    if (precious.has(leftover.ino)) {
      ports.log.warn(
        { path: leftover.path },
        'keeping a tree left by an interrupted run: it may be the only copy of an install',
      );
      continue;
    }
    ports.log.info({ path: leftover.path }, 'removing a tree left by an interrupted run');
    rmSync(leftover.path, { recursive: true, force: true });
    deleted.push(leftover.path);
  }
  if (inPlace === undefined && keep === null && pending !== undefined)
    await removeCreatedDirs(ports.fs, pending.createdDirs);
  return deleted;
}
