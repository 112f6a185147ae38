import { lstatSync, rmdirSync, statSync } from 'node:fs';
import { KataDeployError } from '../core/errors.js';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { HostFs } from '../host/host-fs.js';
import { readDirNoAtime } from './no-atime.js';

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
  const installReal = installExists
    ? await fs.realPath(installDir)
    : path.join(parentReal, path.posix.basename(installDir));
  if (installExists && statSync(installReal).dev !== statSync(path.dirname(installReal)).dev) {
    throw new KataDeployError(
      'node-unsupported',
      `install dir ${installDir} is a mount point, so it cannot be swapped atomically for the new tree`,
      {
        hint: `mount its parent (${parent}) instead, or choose another INSTALLATION_PREFIX; nothing was changed`,
      },
    );
  }
  return { installDir, installReal, installExists, createdDirs, parentReal: path.dirname(installReal) };
}

/**
 * Where the install dir is and which of its ancestors are missing, creating nothing (--dry-run):
 * the answer prepareLocation would give, without its mkdir.
 */
export async function plannedLocation(fs: HostFs, installDir: string): Promise<InstallLocation> {
  const createdDirs: string[] = [];
  for (let dir = installDir; dir !== '/'; dir = path.posix.dirname(dir)) {
    if (await fs.exists(dir)) break;
    createdDirs.unshift(dir);
  }
  const installReal = (await locateInstallDir(fs, installDir)) ?? path.join(await fs.realPath('/'), installDir);
  return {
    installDir,
    installReal,
    installExists: !createdDirs.includes(installDir),
    createdDirs,
    parentReal: path.dirname(installReal),
  };
}

/** A fresh staging dir name beside the install dir. */
export function stagingPathFor(location: InstallLocation): string {
  return path.join(
    location.parentReal,
    `${STAGING}${path.basename(location.installReal)}.${process.pid}-${randomBytes(4).toString('hex')}`,
  );
}

/** A fresh name beside the install dir for a tree that was swapped out (kept until finalize or revert). */
export function oldPathFor(location: InstallLocation): string {
  return path.join(
    location.parentReal,
    `${OLD}${path.basename(location.installReal)}.${process.pid}-${randomBytes(4).toString('hex')}`,
  );
}

/** A staging or old tree a run left beside the install dir, with its root inode (its identity across renames). */
export interface Leftover {
  readonly path: string;
  readonly ino: number;
}

/** Staging and old trees beside the install dir (real path `installReal`), oldest name first. */
export function listLeftovers(installReal: string): Leftover[] {
  const parentReal = path.dirname(installReal);
  const base = path.basename(installReal);
  let names: string[];
  try {
    names = readDirNoAtime(parentReal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return names
    .filter((name) => name.startsWith(`${STAGING}${base}.`) || name.startsWith(`${OLD}${base}.`))
    .sort()
    .map((name) => ({ path: path.join(parentReal, name), ino: lstatSync(path.join(parentReal, name)).ino }));
}

/**
 * Where the install dir really is, without creating anything: its real path when it exists, else the
 * name it would have under its parent's real path; undefined when even the parent is missing.
 */
export async function locateInstallDir(fs: HostFs, installDir: string): Promise<string | undefined> {
  const real = await fs.realPath(installDir).catch(() => undefined);
  if (real !== undefined) return real;
  const parentReal = await fs.realPath(path.posix.dirname(installDir)).catch(() => undefined);
  return parentReal === undefined ? undefined : path.join(parentReal, path.posix.basename(installDir));
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
