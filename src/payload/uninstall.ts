import { lstatSync, rmdirSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { stillOurs } from './entry-ownership.js';
import { removeCreatedDirs } from './install-location.js';
import { resolveInterruptedSwitch } from './switch-recovery.js';
import { damagedEntries, isRootOf, treeIntact } from './installed-tree.js';
import { entryHostPath, manifestPath, pendingManifestPath, readManifests, type PayloadManifest } from './manifest.js';
import type { PayloadSettings } from './types.js';
import type { PayloadPorts } from './types.js';

/**
 * The manifest of what is installed now. After an interrupted switch both manifests exist; the one
 * whose files are on disk wins (the pending one if the swap happened, the current one if not).
 */
export async function readInstalledManifest(
  settings: Pick<PayloadSettings, 'multiInstallSuffix'>,
  ports: Pick<PayloadPorts, 'fs'>,
): Promise<PayloadManifest | undefined> {
  const { current, pending } = await readManifests(settings, ports.fs);
  if (pending === undefined) return current;
  const installReal = await ports.fs.realPath(pending.installDir).catch(() => undefined);
  if (installReal !== undefined && isRootOf(installReal, pending) && treeIntact(installReal, pending.entries))
    return pending;
  return current ?? pending;
}

/**
 * Host paths of the installed payload that a pod would miss or get wrong: every manifest entry that is
 * gone or changed (stat only), or the install dir itself when it is not the tree we installed.
 */
export async function damagedPayloadFiles(
  settings: Pick<PayloadSettings, 'multiInstallSuffix'>,
  ports: Pick<PayloadPorts, 'fs'>,
): Promise<string[]> {
  const manifest = await readInstalledManifest(settings, ports);
  if (manifest === undefined) return [];
  const installReal = await ports.fs.realPath(manifest.installDir);
  if (!isRootOf(installReal, manifest)) return [manifest.installDir];
  return damagedEntries(installReal, manifest.entries).map((entry) => entryHostPath(manifest, entry));
}

function ignoreGone(action: () => void): boolean {
  try {
    action();
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENOTEMPTY' || code === 'EEXIST') return false;
    throw error;
  }
}

/** What uninstall did to the payload: host paths removed, and host paths it left because they are not ours. */
export interface PayloadRemoval {
  readonly removed: readonly string[];
  readonly kept: readonly string[];
}

function exists(real: string): boolean {
  return ignoreGone(() => lstatSync(real));
}

/**
 * Uninstall: removes the files and links the manifests list that are still ours (same link target, or
 * same size and stat or hash), then the directories we created once they are empty (a directory
 * holding someone else's file stays), then the manifests. When the install dir is no longer the tree
 * we installed (its root inode changed: the operator moved ours away and made their own), nothing in
 * it is touched. What was left is logged and returned. A second run finds no manifest and does nothing.
 */
export async function removeOwnPayload(
  settings: Pick<PayloadSettings, 'multiInstallSuffix' | 'installDir'>,
  ports: PayloadPorts,
): Promise<PayloadRemoval> {
  await resolveInterruptedSwitch(settings, ports);
  const { current, pending } = await readManifests(settings, ports.fs);
  const manifests = [pending, current].filter((manifest): manifest is PayloadManifest => manifest !== undefined);
  if (manifests.length === 0) return { removed: [], kept: [] };
  const installDir = manifests[0]!.installDir;
  const installReal = await ports.fs.realPath(installDir);
  const rootIsOurs = manifests.some((manifest) => isRootOf(installReal, manifest));
  const removed: string[] = [];
  const kept: string[] = [];
  const dirs = new Set<string>();
  if (!rootIsOurs && exists(installReal)) kept.push(installDir);
  for (const manifest of rootIsOurs ? manifests : []) {
    for (const entry of manifest.entries) {
      const real = path.join(installReal, entry.path);
      if (entry.type === 'dir') dirs.add(entry.path);
      else if (!exists(real)) continue;
      else if (!stillOurs(real, entry)) kept.push(entryHostPath(manifest, entry));
      else if (ignoreGone(() => unlinkSync(real))) removed.push(entryHostPath(manifest, entry));
    }
  }
  for (const dir of [...dirs].sort((a, b) => b.length - a.length))
    ignoreGone(() => rmdirSync(path.join(installReal, dir)));
  const createdDirs = [...new Set(manifests.flatMap((manifest) => manifest.createdDirs))];
  const inside = (dir: string) => dir === installDir || dir.startsWith(`${installDir}/`);
  await removeCreatedDirs(
    ports.fs,
    createdDirs.filter((dir) => rootIsOurs || !inside(dir)),
  );
  await ports.fs.remove(pendingManifestPath(settings));
  await ports.fs.remove(manifestPath(settings));
  if (kept.length > 0) {
    ports.log.warn(
      { installDir, kept: kept.slice(0, 20), count: kept.length },
      rootIsOurs
        ? 'left files kata-deploy installed but someone changed or replaced since; they are not ours to delete'
        : 'the install dir is not the tree kata-deploy installed (replaced since?); left it untouched',
    );
  }
  ports.log.info({ installDir, removed: removed.length, kept: kept.length }, 'payload removed');
  return { removed, kept };
}

/** removeOwnPayload, answering only the host paths removed. */
export async function removeInstalledPayload(
  settings: Pick<PayloadSettings, 'multiInstallSuffix' | 'installDir'>,
  ports: PayloadPorts,
): Promise<string[]> {
  return [...(await removeOwnPayload(settings, ports)).removed];
}
