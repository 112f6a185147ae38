import { closeSync, constants, existsSync, lstatSync, openSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { KataDeployError } from '../core/errors.js';
import { stateDir } from '../core/paths.js';
import { carryOverForeign } from './carry-over.js';
import { oldPathFor, removeCreatedDirs } from './install-location.js';
import { loadLibc, syncFilesystem } from './libc.js';
import { fsyncDir, putInPlace } from './switch-recovery.js';
import { entryHostPath, manifestPath, pendingManifestPath, readManifests, renderManifest } from './manifest.js';
import type { PayloadSettings } from './types.js';
import type { CommitResult, PayloadPorts, StagedPayload } from './types.js';

function withDirFd<T>(dir: string, action: (fd: number) => T): T {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    return action(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Makes a staged payload the installed one, keeping the tree it replaced: the first phase of a
 * two-phase switch. Order matters for crashes: foreign files are linked into the new tree, the new
 * manifest is written as "pending" (naming the replaced tree's root inode), every page is flushed (one
 * syncfs), the trees are swapped, and the old tree is kept as `.kata-deploy-old.*`. Then either
 * finalizePayload (the install committed) or revertPayload (it failed). Killed at any point, the
 * install dir holds the old tree or the new one, never a mix, and the next run's
 * resolveInterruptedSwitch puts the old one back. Running shims and hypervisors keep their open
 * inodes: nothing is ever written over an existing file.
 */
export async function commitStagedPayload(
  staged: StagedPayload,
  settings: PayloadSettings,
  ports: PayloadPorts,
): Promise<CommitResult> {
  await loadLibc();
  if (staged.unchanged) {
    if (staged.manifestOnly) {
      await ports.fs.mkdirp(stateDir(settings));
      await ports.fs.writeFileAtomic(manifestPath(settings), renderManifest(staged.manifest));
    }
    return { changed: false, removed: [], staged, oldTree: undefined };
  }
  if (staged.stagingDir === undefined || !existsSync(staged.stagingDir)) {
    throw new KataDeployError('internal', 'staged payload has no staging dir (already committed or discarded?)');
  }
  const { installReal } = staged.location;
  const { current, pending } = await readManifests(settings, ports.fs);
  const ours = new Set([...(current?.entries ?? []), ...(pending?.entries ?? [])].map((entry) => entry.path));
  const replaced = existsSync(installReal) ? lstatSync(installReal).ino : null;
  if (replaced !== null) {
    const carried = carryOverForeign(installReal, staged.stagingDir, ours, ports.log);
    if (carried.length > 0)
      ports.log.info({ count: carried.length }, 'kept files under the install dir that kata-deploy did not install');
  }
  await ports.fs.mkdirp(stateDir(settings));
  await ports.fs.writeFileAtomic(
    pendingManifestPath(settings),
    renderManifest({ ...staged.manifest, replacesRootInode: replaced }),
  );
  withDirFd(staged.stagingDir, syncFilesystem);
  ports.log.debug({ installDir: staged.location.installDir }, 'staged tree flushed; swapping it into place');
  let oldTree = putInPlace(staged.stagingDir, installReal, oldPathFor(staged.location));
  if (oldTree !== undefined && oldTree === staged.stagingDir) {
    const named = oldPathFor(staged.location);
    renameSync(oldTree, named);
    oldTree = named;
  }
  fsyncDir(path.dirname(installReal));
  ports.log.debug(
    { installDir: staged.location.installDir, oldTree },
    'trees swapped; the old tree is kept until the install commits',
  );

  const kept = new Set(staged.manifest.entries.map((entry) => entry.path));
  const removed = (current?.entries ?? [])
    .filter((entry) => entry.type !== 'dir' && !kept.has(entry.path))
    .map((entry) => entryHostPath(staged.manifest, entry));
  ports.log.info(
    { installDir: staged.location.installDir, entries: staged.manifest.entries.length, removed: removed.length },
    'payload switched into place',
  );
  return { changed: true, removed, staged, oldTree };
}

/**
 * Second phase after success: promotes the pending manifest (from here on the new tree is the
 * committed one, even across a crash), then deletes the old tree. Idempotent.
 */
export async function finalizePayload(
  committed: CommitResult,
  settings: PayloadSettings,
  ports: PayloadPorts,
): Promise<void> {
  if (!committed.changed) return;
  if (await ports.fs.exists(pendingManifestPath(settings)))
    await ports.fs.rename(pendingManifestPath(settings), manifestPath(settings));
  if (committed.oldTree !== undefined) rmSync(committed.oldTree, { recursive: true, force: true });
  ports.log.debug({ installDir: committed.staged.location.installDir }, 'payload switch finalized');
}

/**
 * Second phase after failure: swaps the old tree back (one atomic exchange), drops the pending
 * manifest (the current one was never replaced), then deletes the new tree. After a first install,
 * the new tree is simply moved away and deleted, with any parent directory this run created.
 */
export async function revertPayload(
  committed: CommitResult,
  settings: PayloadSettings,
  ports: PayloadPorts,
): Promise<void> {
  if (!committed.changed) return;
  await loadLibc();
  const { location } = committed.staged;
  const aside = oldPathFor(location);
  let newTree: string | undefined;
  if (committed.oldTree !== undefined) {
    newTree = putInPlace(committed.oldTree, location.installReal, aside);
  } else if (existsSync(location.installReal)) {
    renameSync(location.installReal, aside);
    newTree = aside;
  }
  fsyncDir(path.dirname(location.installReal));
  await ports.fs.remove(pendingManifestPath(settings));
  if (newTree !== undefined) rmSync(newTree, { recursive: true, force: true });
  if (committed.oldTree === undefined) await removeCreatedDirs(ports.fs, location.createdDirs);
  ports.log.warn({ installDir: location.installDir }, 'payload switch reverted: the previous tree is back in place');
}
