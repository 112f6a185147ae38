import path from 'node:path';
import type { FileChange } from '../core/file-change.js';
import type { HandlerSpec } from '../core/handlers.js';
import type { LedgerFile } from './ledger.js';

/**
 * The Kata configuration files an earlier install created that no wanted handler reads any more: those of a
 * shim dropped from SHIMS, of a variant DEBUG no longer asks for, or of our pre-4.2 layout
 * (`…/kata-containers/handlers/<handler>/`). Only files the ledger says we created inside the install dir's
 * `share/defaults/kata-containers/` qualify; anything of the operator's, and the runtime's config, is never
 * one. Pure: `current` gives each candidate's bytes now.
 */
export function staleKataConfigChanges(
  ledgerFiles: readonly LedgerFile[],
  handlers: readonly HandlerSpec[],
  installDir: string,
  current: ReadonlyMap<string, Buffer | undefined>,
): FileChange[] {
  const root = `${installDir}/share/defaults/kata-containers/`;
  const wantedDirs = handlers.map((handler) => `${path.posix.dirname(handler.configPath)}/`);
  return staleCandidates(ledgerFiles, root)
    .filter((file) => !wantedDirs.some((dir) => file.startsWith(dir)))
    .map((file) => ({
      path: file,
      before: current.get(file),
      after: undefined,
      reason: 'Kata configuration of a handler no longer installed here (or of the pre-4.2 layout)',
    }));
}

/** The ledger's created files under `root` (the ones staleKataConfigChanges may remove), to read first. */
export function staleCandidates(ledgerFiles: readonly LedgerFile[], root: string): string[] {
  return ledgerFiles
    .filter((file) => !file.runtimeReads && file.original.kind === 'absent' && file.path.startsWith(root))
    .map((file) => file.path);
}
