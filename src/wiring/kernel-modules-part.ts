import type { FileChange } from '../core/file-change.js';
import { modulesLoadPath, renderModulesLoad } from '../core/kernel-modules.js';
import type { ModulesReport } from '../detect/kernel-modules.js';
import type { HostFs } from '../host/host-fs.js';

/**
 * Our `/etc/modules-load.d/kata-containers-<suffix|default>.conf`, so the modules come back after a reboot.
 * Planned with the Kata configs: journalled, and deleted (or restored) by uninstall through the ledger.
 */
export async function modulesLoadChange(
  fs: HostFs,
  suffix: string | undefined,
  modules: ModulesReport,
): Promise<FileChange> {
  const file = modulesLoadPath(suffix);
  const after = modules.wanted.length === 0 ? undefined : Buffer.from(renderModulesLoad(modules.wanted));
  return { path: file, before: await fs.readIfExists(file), after, mode: 0o644, reason: 'kernel modules Kata needs' };
}
