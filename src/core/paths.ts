import type { Settings } from '../settings/settings.js';

/**
 * Host directory where one install keeps its state (ledger, backups of operator files, payload
 * manifest). Outside the install dir so removing /opt/kata never loses what uninstall needs.
 */
export function stateDir(settings: Pick<Settings, 'multiInstallSuffix'>): string {
  return `/var/lib/kata-deploy/${settings.multiInstallSuffix ?? 'default'}`;
}

/**
 * Host path of the lock every kata-deploy run on a node takes before changing anything: in a directory
 * only root can enter (world-writable /run/lock let any user hold it or plant a symlink there).
 */
export const HOST_LOCK_PATH = '/run/kata-deploy/lock';
