import { closeSync, constants, existsSync, fsyncSync, openSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { KataDeployError } from '../core/errors.js';
import { stateDir } from '../core/paths.js';
import { carryOverForeign } from './carry-over.js';
import { oldPathFor } from './install-location.js';
import { exchangePaths, syncFilesystem } from './libc.js';
import { entryHostPath, manifestPath, pendingManifestPath, readManifests, renderManifest } from './manifest.js';
import type { PayloadSettings } from './stage.js';
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
 * Swaps the old tree for the new one. renameat2(RENAME_EXCHANGE) makes it one atomic step; where the
 * filesystem cannot (EINVAL), two renames leave a window of microseconds without an install dir, which
 * we log. Returns where the old tree now is, or undefined on a first install.
 */
function swapIntoPlace(staged: StagedPayload, ports: PayloadPorts): string | undefined {
  const { installReal } = staged.location;
  const staging = staged.stagingDir!;
  if (!existsSync(installReal)) {
    renameSync(staging, installReal);
    return undefined;
  }
  try {
    exchangePaths(staging, installReal);
    return staging;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'ENOSYS' && code !== 'ENOTSUP') throw error;
    ports.log.warn({ installDir: staged.location.installDir, code }, 'filesystem cannot swap directories atomically; using two renames');
    const old = oldPathFor(staged.location);
    renameSync(installReal, old);
    renameSync(staging, installReal);
    return old;
  }
}

/**
 * Makes a staged payload the installed one. Order matters for crashes: foreign files are linked into
 * the new tree, the new manifest is written as "pending", every page is flushed (one syncfs), the trees
 * are swapped, the manifest promoted, the old tree deleted. Killed at any point, the install dir holds
 * the old tree or the new one, never a mix; the next run removes the leftover and converges. Running
 * shims and hypervisors keep their open inodes: nothing is ever written over an existing file.
 */
export async function commitStagedPayload(staged: StagedPayload, settings: PayloadSettings, ports: PayloadPorts): Promise<CommitResult> {
  if (staged.unchanged) {
    if (staged.manifestOnly) {
      await ports.fs.mkdirp(stateDir(settings));
      await ports.fs.writeFileAtomic(manifestPath(settings), renderManifest(staged.manifest));
    }
    return { changed: false, removed: [] };
  }
  if (staged.stagingDir === undefined || !existsSync(staged.stagingDir)) {
    throw new KataDeployError('internal', 'staged payload has no staging dir (already committed or discarded?)');
  }
  const { current, pending } = await readManifests(settings, ports.fs);
  const ours = new Set([...(current?.entries ?? []), ...(pending?.entries ?? [])].map((entry) => entry.path));
  if (existsSync(staged.location.installReal)) {
    const carried = carryOverForeign(staged.location.installReal, staged.stagingDir, ours, ports.log);
    if (carried.length > 0) ports.log.info({ count: carried.length }, 'kept files under the install dir that kata-deploy did not install');
  }
  await ports.fs.mkdirp(stateDir(settings));
  await ports.fs.writeFileAtomic(pendingManifestPath(settings), renderManifest(staged.manifest));
  withDirFd(staged.stagingDir, syncFilesystem);
  ports.log.debug({ installDir: staged.location.installDir }, 'staged tree flushed; swapping it into place');
  const old = swapIntoPlace(staged, ports);
  withDirFd(path.dirname(staged.location.installReal), (fd) => fsyncSync(fd));
  ports.log.debug({ installDir: staged.location.installDir }, 'trees swapped; promoting the manifest');
  await ports.fs.rename(pendingManifestPath(settings), manifestPath(settings));
  if (old !== undefined) rmSync(old, { recursive: true, force: true });

  const kept = new Set(staged.manifest.entries.map((entry) => entry.path));
  const removed = (current?.entries ?? [])
    .filter((entry) => entry.type !== 'dir' && !kept.has(entry.path))
    .map((entry) => entryHostPath(staged.manifest, entry));
  ports.log.info({ installDir: staged.location.installDir, entries: staged.manifest.entries.length, removed: removed.length }, 'payload installed');
  return { changed: true, removed };
}
