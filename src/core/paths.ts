import type { Settings } from '../settings/settings.js';

/**
 * Host directory kata-deploy owns (root, 0755): every install's state dir, and the per-run scratch dirs
 * of config validation, which must never sit in a world-writable /tmp.
 */
export const STATE_ROOT = '/var/lib/kata-deploy';

/**
 * Host directory where one install keeps its state (ledger, backups of operator files, payload
 * manifest). Outside the install dir so removing /opt/kata never loses what uninstall needs.
 */
export function stateDir(settings: Pick<Settings, 'multiInstallSuffix'>): string {
  return `${STATE_ROOT}/${settings.multiInstallSuffix ?? 'default'}`;
}

/** Host path of the lock every kata-deploy run on a node takes before changing anything. */
export const HOST_LOCK_PATH = '/run/lock/kata-deploy.lock';
