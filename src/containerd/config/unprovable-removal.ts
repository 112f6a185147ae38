import type { FileChange } from '../../core/file-change.js';
import { resolveImport } from './imports.js';
import { rootImports } from './in-place-edit.js';
import type { RecordedConfigFile } from './record.js';

/**
 * A removal from a file that does not parse (the operator broke it on their own): our exact appended
 * block is cut out byte for byte when it is there exactly once, so uninstall still takes away what is
 * ours; undefined when that cannot be done without guessing (no block, or an imports entry to drop).
 */
export function cutInsertedBlock(file: RecordedConfigFile, bytes: Buffer): FileChange | undefined {
  if (file.inserted === null || file.importEntry !== null || !!file.userImportEntry) return undefined;
  const parts = bytes.toString('utf8').split(file.inserted);
  if (parts.length !== 2) return undefined;
  return {
    path: file.path,
    before: bytes,
    after: Buffer.from(parts.join('')),
    reason: "cut kata-deploy's block out of a file that is not valid TOML (the rest is left as it is)",
  };
}

/**
 * Our drop-in, deleted by uninstall, is still named by an explicit `imports` entry of the main config
 * that is not ours (the operator listed it): containerd refuses a missing explicit import, so the
 * deletion would fail every uninstall. The file is emptied of our handlers instead and stays.
 */
export function keepImportedDropIns(
  changes: readonly FileChange[],
  mainPath: string,
  mainAfter: Buffer | undefined,
): FileChange[] {
  let imports: string[];
  try {
    imports = (mainAfter === undefined ? undefined : rootImports(mainAfter.toString('utf8'))) ?? [];
  } catch {
    return [...changes];
  }
  const named = new Set(imports.map((entry) => resolveImport(mainPath, entry)));
  return changes.map((change) => {
    if (change.after !== undefined || change.before === undefined || !named.has(change.path)) return change;
    const version = /^version = \d+$/m.exec(change.before.toString('utf8'))?.[0];
    const stub = `# kata-deploy removed its handlers; this file stays because imports in ${mainPath} name it.\n`;
    return {
      ...change,
      after: Buffer.from(version === undefined ? stub : `${version}\n${stub}`),
      reason: `empty kata-deploy's drop-in, which imports in ${mainPath} name (deleting it would break the config)`,
    };
  });
}
