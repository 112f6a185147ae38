import path from 'node:path';
import { KataDeployError } from '../core/errors.js';
import { modulesLoadPath } from '../core/kernel-modules.js';
import { stateDir } from '../core/paths.js';
import { dropInName, userDropInName } from '../containerd/config/request.js';
import type { Settings } from '../settings/settings.js';
import type { Ledger } from './ledger.js';

/**
 * The only host paths a ledger may name. The ledger drives deletes and restores as root, so a planted or
 * damaged one must not be able to point them anywhere else: the install dir, the state dir, the
 * directories the runtime's config lives in, and files named like our drop-ins (an operator's `imports`
 * glob may put those in any directory).
 */
export interface LedgerScope {
  readonly installDir: string;
  readonly stateDir: string;
  readonly runtimeConfigDirs: readonly string[];
  readonly dropInNames: readonly string[];
  /** Single files of ours outside those directories (the modules-load.d file). */
  readonly ownFiles: readonly string[];
}

/** What our shim links on the runtime's PATH are called (core/shim-lookup.ts): nothing else may be unlinked. */
const SHIM_LINK_NAME = /^containerd-shim-kata-[a-z0-9-]+-v2$/;

/** True for an absolute, normalised host path without `..` or control characters. */
export function isPlainHostPath(hostPath: unknown): hostPath is string {
  return (
    typeof hostPath === 'string' &&
    hostPath.startsWith('/') &&
    path.posix.normalize(hostPath) === hostPath &&
    !hostPath.split('/').includes('..') &&
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
    !/[\u0000-\u001f\u007f]/.test(hostPath)
  );
}

/** True when `hostPath` is `dir` or below it. */
export function isWithin(hostPath: string, dir: string): boolean {
  return hostPath === dir || hostPath.startsWith(dir === '/' ? '/' : `${dir}/`);
}

function fileAllowed(hostPath: string, scope: LedgerScope): boolean {
  if (!isPlainHostPath(hostPath)) return false;
  const roots = [scope.installDir, scope.stateDir, ...scope.runtimeConfigDirs];
  const name = path.posix.basename(hostPath);
  return (
    roots.some((dir) => isWithin(hostPath, dir)) ||
    scope.dropInNames.includes(name) ||
    scope.ownFiles.includes(hostPath)
  );
}

function isAncestorOf(dir: string, of: readonly string[]): boolean {
  return isPlainHostPath(dir) && of.some((child) => isWithin(child, dir));
}

/** The scope of the install these settings describe, the runtime's config living in `runtimeConfigDirs`. */
export function ledgerScopeFor(
  settings: Pick<Settings, 'installDir' | 'multiInstallSuffix'>,
  runtimeConfigDirs: readonly string[],
): LedgerScope {
  return {
    installDir: settings.installDir,
    stateDir: stateDir(settings),
    runtimeConfigDirs,
    dropInNames: [
      dropInName(settings.multiInstallSuffix),
      dropInName(settings.multiInstallSuffix, '.conf'),
      userDropInName(settings.multiInstallSuffix),
    ],
    ownFiles: [modulesLoadPath(settings.multiInstallSuffix)],
  };
}

/**
 * Every path the ledger names that is out of scope. Files and journal entries must be in scope; created
 * directories in scope or ancestors of it (a first install may create /opt), since only those were
 * ever created by us.
 */
export function ledgerPathsOutOfScope(ledger: Ledger, scope: LedgerScope): string[] {
  const bad: string[] = [];
  for (const file of ledger.files ?? []) if (!fileAllowed(file.path, scope)) bad.push(String(file.path));
  for (const entry of ledger.journal ?? []) if (!fileAllowed(entry.path, scope)) bad.push(String(entry.path));
  const roots = [scope.installDir, scope.stateDir, ...scope.runtimeConfigDirs, ...scope.ownFiles];
  for (const dir of ledger.createdDirs ?? [])
    if (!fileAllowed(dir, scope) && !isAncestorOf(dir, roots)) bad.push(String(dir));
  for (const dir of ledger.createdStateDirs ?? []) if (!isAncestorOf(dir, [scope.stateDir])) bad.push(String(dir));
  for (const link of ledger.shimLinks ?? [])
    if (!isPlainHostPath(link.path) || !SHIM_LINK_NAME.test(path.posix.basename(link.path)))
      bad.push(String(link.path));
  return [...new Set(bad)];
}

/**
 * Refuses (exit 5) a ledger that names a path outside its scope: acting on it could delete or overwrite
 * any file on the node. Nothing is changed; the operator has to look at the state dir.
 */
export function assertLedgerInScope(ledger: Ledger, scope: LedgerScope, ledgerPath: string): void {
  const bad = ledgerPathsOutOfScope(ledger, scope);
  if (bad.length === 0) return;
  throw new KataDeployError(
    'config-refused',
    `${ledgerPath} names ${bad.slice(0, 5).join(', ')}, outside what kata-deploy may touch (the install dir ` +
      `${scope.installDir}, the state dir ${scope.stateDir} and the runtime's config dirs ` +
      `${scope.runtimeConfigDirs.join(', ')}); refusing to act on it`,
    {
      hint:
        'nothing was changed; the ledger was edited, planted or written with other settings (INSTALLATION_PREFIX, ' +
        'MULTI_INSTALL_SUFFIX, CONTAINERD_CONFIG): rerun with those settings, or inspect the state dir by hand',
    },
  );
}
