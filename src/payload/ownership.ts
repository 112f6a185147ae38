import { lstatSync } from 'node:fs';
import path from 'node:path';
import { KataDeployError } from '../core/errors.js';
import type { HostFs } from '../host/host-fs.js';
import type { ManifestEntry, PayloadManifest } from './manifest.js';

const WHERE_FROM = 'INSTALLATION_PREFIX / MULTI_INSTALL_SUFFIX';

function lstatOrUndefined(real: string): ReturnType<typeof lstatSync> | undefined {
  try {
    return lstatSync(real);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw error;
  }
}

/**
 * Refuses (exit 2) an install dir this tool did not create: a symlink (the switch would exchange the
 * directory it points to, e.g. /etc, for a rebuilt copy that loses owners, modes, ACLs and xattrs), a
 * non-directory, or a directory whose root inode no manifest of ours names (an upstream or hand-made
 * install: its files would be discarded with the replaced tree). Only the last component is judged; a
 * symlinked ancestor (/opt -> /var/opt on image-based systems) is the host's layout and is followed.
 */
export async function assertInstallDirIsOurs(
  fs: HostFs,
  installDir: string,
  manifests: readonly (PayloadManifest | undefined)[],
): Promise<void> {
  const stats = await fs.lstat(installDir);
  if (stats === undefined) return;
  if (stats.isSymbolicLink()) {
    throw new KataDeployError(
      'usage',
      `install dir ${installDir} is a symlink (to ${await fs.readlink(installDir)}); kata-deploy never installs ` +
        'through a symlink, since the switch would replace the directory it points to',
      { hint: `remove the symlink or choose another install dir with ${WHERE_FROM}; nothing was changed` },
    );
  }
  const ours = manifests.some(
    (manifest) =>
      manifest?.installDir === installDir &&
      (manifest.rootInode === undefined || manifest.rootInode === stats.ino) &&
      stats.isDirectory(),
  );
  if (ours) return;
  const what = stats.isDirectory() ? 'a directory kata-deploy did not create' : 'not a directory';
  throw new KataDeployError(
    'usage',
    `install dir ${installDir} already exists and is ${what} (an earlier upstream or manual install?); ` +
      'kata-deploy installs only into a directory it created, so it never discards files it does not own',
    {
      hint:
        `move ${installDir} aside (or uninstall what put it there), or choose another install dir with ` +
        `${WHERE_FROM}; nothing was changed`,
    },
  );
}

/**
 * Paths the new payload ships where the installed tree holds something kata-deploy did not install
 * (an operator's file dropped into our tree, or a file where the payload now has a directory). The
 * switch would discard those with the old tree and uninstall would then delete the payload's copy, so
 * install refuses them instead. A directory over a directory is merged, not a collision.
 */
export function foreignCollisions(
  installReal: string,
  entries: readonly ManifestEntry[],
  ours: ReadonlySet<string>,
): string[] {
  const collisions: string[] = [];
  for (const entry of entries) {
    if (ours.has(entry.path)) continue;
    const stats = lstatOrUndefined(path.join(installReal, entry.path));
    if (stats === undefined || (entry.type === 'dir' && stats.isDirectory())) continue;
    collisions.push(entry.path);
  }
  return collisions;
}

/** Refuses (exit 2) to install over foreign files at paths the payload ships, naming them. */
export function assertNoForeignCollisions(
  installDir: string,
  installReal: string,
  entries: readonly ManifestEntry[],
  ours: ReadonlySet<string>,
): void {
  const collisions = foreignCollisions(installReal, entries, ours);
  if (collisions.length === 0) return;
  const named = collisions.slice(0, 5).map((rel) => path.posix.join(installDir, rel));
  const more = collisions.length > named.length ? ` and ${collisions.length - named.length} more` : '';
  throw new KataDeployError(
    'usage',
    `the payload ships ${named.join(', ')}${more}, which kata-deploy did not install; installing would discard them`,
    { hint: 'move those files out of the install dir (they are not ours to replace), then rerun; nothing was changed' },
  );
}
