import { readdirSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { KataDeployError } from '../core/errors.js';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { HostFs } from '../host/host-fs.js';
import type { Logger } from '../host/logger.js';

/** Where an install dir really is, and what we had to create to put a staging dir beside it. */
export interface InstallLocation {
  /** Host path, as settings spell it. */
  readonly installDir: string;
  /** Real path of the install dir (after the host root and any symlinks), existing or not. */
  readonly installReal: string;
  readonly installExists: boolean;
  /** Host paths of ancestors (and the install dir) that did not exist before this run. */
  readonly createdDirs: readonly string[];
  readonly parentReal: string;
}

const STAGING = '.kata-deploy-staging.';
const OLD = '.kata-deploy-old.';

/**
 * Resolves the install dir and creates its parent if needed, so the staging dir can sit on the same
 * filesystem (a rename across filesystems is a copy, not a switch). Names every directory it created
 * so a failed or uninstalled run can remove them again.
 */
export async function prepareLocation(fs: HostFs, installDir: string): Promise<InstallLocation> {
  const createdDirs: string[] = [];
  for (let dir = installDir; dir !== '/'; dir = path.posix.dirname(dir)) {
    if (await fs.exists(dir)) break;
    createdDirs.unshift(dir);
  }
  const parent = path.posix.dirname(installDir);
  await fs.mkdirp(parent);
  const installExists = !createdDirs.includes(installDir);
  const parentReal = await fs.realPath(parent);
  const installReal = installExists ? await fs.realPath(installDir) : path.join(parentReal, path.posix.basename(installDir));
  if (installExists && statSync(installReal).dev !== statSync(path.dirname(installReal)).dev) {
    throw new KataDeployError('node-unsupported', `install dir ${installDir} is a mount point, so it cannot be swapped atomically for the new tree`, {
      hint: `mount its parent (${parent}) instead, or choose another INSTALLATION_PREFIX; nothing was changed`,
    });
  }
  return { installDir, installReal, installExists, createdDirs, parentReal: path.dirname(installReal) };
}

/** A fresh staging dir name beside the install dir. */
export function stagingPathFor(location: InstallLocation): string {
  return path.join(location.parentReal, `${STAGING}${path.basename(location.installReal)}.${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** Where the old tree goes when the filesystem cannot swap atomically. */
export function oldPathFor(location: InstallLocation): string {
  return path.join(location.parentReal, `${OLD}${path.basename(location.installReal)}.${process.pid}-${randomBytes(4).toString('hex')}`);
}

/**
 * Removes staging and old trees a killed run left beside the install dir. Safe because the caller
 * holds the node-wide kata-deploy lock: no other run can be using them.
 */
export function removeLeftovers(location: InstallLocation, log: Logger): void {
  const base = path.basename(location.installReal);
  for (const name of readdirSync(location.parentReal)) {
    if (name.startsWith(`${STAGING}${base}.`) || name.startsWith(`${OLD}${base}.`)) {
      log.info({ path: path.join(location.parentReal, name) }, 'removing a staging dir left by an interrupted run');
      rmSync(path.join(location.parentReal, name), { recursive: true, force: true });
    }
  }
}

/** Removes directories we created, deepest first, only while they are empty. */
export async function removeCreatedDirs(fs: HostFs, createdDirs: readonly string[]): Promise<void> {
  for (const dir of [...createdDirs].sort((a, b) => b.length - a.length)) {
    try {
      rmdirSync(await fs.realPath(dir));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
    }
  }
}
