import type { FileChange } from '../core/file-change.js';
import { modulesLoadPath, renderModulesLoad } from '../core/kernel-modules.js';
import type { ModulesReport } from '../detect/kernel-modules.js';
import type { HostFs } from '../host/host-fs.js';
import type { Logger } from '../host/logger.js';

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

/**
 * Says which modules the node lacks. They are not loaded for the operator: a test or bare-metal run on a
 * shared host must not change its kernel, and the DaemonSet's host mount may lack /lib/modules; the
 * modules-load.d file loads them at the next boot, or `modprobe` them now.
 */
export function warnMissingModules(modules: ModulesReport, log: Logger): void {
  if (modules.missingRequired.length > 0)
    log.warn(
      { modules: modules.missingRequired },
      `kernel module(s) ${modules.missingRequired.join(', ')} missing: no Kata pod with a QEMU shim can start on ` +
        `this node until they are loaded (modprobe ${modules.missingRequired.join(' ')})`,
    );
  else if ((modules.missing ?? []).length > 0)
    log.info({ modules: modules.missing }, 'optional kernel modules not loaded');
}
