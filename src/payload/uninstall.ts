import { lstatSync, rmdirSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { removeCreatedDirs } from './install-location.js';
import { resolveInterruptedSwitch } from './switch-recovery.js';
import { isRootOf, treeIntact } from './installed-tree.js';
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

/**
 * Uninstall: removes exactly the files and links the manifests list, then the directories we created
 * once they are empty (a directory holding someone else's file stays), then the manifests. Returns the
 * host paths removed. A second run finds no manifest and does nothing.
 */
export async function removeInstalledPayload(
  settings: Pick<PayloadSettings, 'multiInstallSuffix' | 'installDir'>,
  ports: PayloadPorts,
): Promise<string[]> {
  await resolveInterruptedSwitch(settings, ports);
  const { current, pending } = await readManifests(settings, ports.fs);
  const manifests = [pending, current].filter((manifest): manifest is PayloadManifest => manifest !== undefined);
  if (manifests.length === 0) return [];
  const installDir = manifests[0]!.installDir;
  const installReal = await ports.fs.realPath(installDir);
  const removed: string[] = [];
  const dirs = new Set<string>();
  for (const manifest of manifests) {
    for (const entry of manifest.entries) {
      if (entry.type === 'dir') {
        dirs.add(entry.path);
        continue;
      }
      const real = path.join(installReal, entry.path);
      const exists = ignoreGone(() => lstatSync(real));
      if (exists && ignoreGone(() => unlinkSync(real))) removed.push(entryHostPath(manifest, entry));
    }
  }
  for (const dir of [...dirs].sort((a, b) => b.length - a.length))
    ignoreGone(() => rmdirSync(path.join(installReal, dir)));
  await removeCreatedDirs(ports.fs, [...new Set(manifests.flatMap((manifest) => manifest.createdDirs))]);
  await ports.fs.remove(pendingManifestPath(settings));
  await ports.fs.remove(manifestPath(settings));
  ports.log.info({ installDir, removed: removed.length }, 'payload removed');
  return removed;
}
