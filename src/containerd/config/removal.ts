import { KataDeployError } from '../../core/errors.js';
import { isNoop, type FileChange } from '../../core/file-change.js';
import { removeOurImport, removeTables } from './in-place-edit.js';
import { sha256 } from '../../core/digest.js';
import type { RecordedConfigFile, RuntimeConfigRecord } from './record.js';
import { cutInsertedBlock } from './unprovable-removal.js';
import {
  firstDifference,
  getPath,
  isTable,
  parseTomlDocument,
  parseTomlText,
  withPath,
  withoutPath,
  type TomlDocument,
  type TomlTable,
} from './toml-document.js';

/**
 * Plans the runtime-config part of an uninstall. PURE. A file still exactly as we wrote it gets its
 * original bytes back (or is deleted if we created it); a file someone edited since keeps their edits and
 * loses only our tables and our imports entry; our own drop-ins are deleted.
 */
export function planRuntimeConfigRemoval(
  record: RuntimeConfigRecord,
  current: ReadonlyMap<string, Buffer | undefined>,
): FileChange[] {
  return record.files
    .map((file) => removeRecordedFile(file, current.get(file.path)))
    .filter((change): change is FileChange => change !== undefined && !isNoop(change));
}

/** The change that takes one recorded file back to the operator's state; undefined when nothing is left to do. */
export function removeRecordedFile(file: RecordedConfigFile, bytes: Buffer | undefined): FileChange | undefined {
  if (bytes === undefined) return undefined;
  const original = file.original === null ? undefined : Buffer.from(file.original, 'base64');
  if (sha256(bytes) === file.writtenSha256) {
    return {
      path: file.path,
      before: bytes,
      after: original,
      reason:
        original === undefined
          ? 'delete the file kata-deploy created'
          : 'restore the file as it was before kata-deploy',
    };
  }
  if (file.ownedWhole)
    return { path: file.path, before: bytes, after: undefined, reason: 'delete the drop-in kata-deploy created' };
  let doc: ReturnType<typeof parseTomlDocument>;
  try {
    doc = parseTomlDocument(file.path, bytes);
  } catch (error) {
    const cut = cutInsertedBlock(file, bytes);
    if (cut === undefined) throw error;
    return cut;
  }
  const keepRunc = runcStillNeeded(file, doc.value);
  const text = removeOurs(
    keepRunc ? { ...file, tables: file.tables.filter((table) => !table.includes('runc')), inserted: null } : file,
    doc,
  );
  if (keepRunc)
    return {
      path: file.path,
      before: bytes,
      after: Buffer.from(text),
      reason: "remove kata-deploy's handlers, keeping later edits and the runc handler other runtimes now rely on",
    };
  if (file.original === null && /^version = \d\n$/.test(text)) {
    return {
      path: file.path,
      before: bytes,
      after: undefined,
      reason: 'delete the file kata-deploy created (only our handlers were left in it)',
    };
  }
  return {
    path: file.path,
    before: bytes,
    after: Buffer.from(text),
    reason: "remove kata-deploy's handlers, keeping later edits",
  };
}

/**
 * Whether the runc handler we added must stay: on containerd 1.x any runtime table replaces the default
 * map, so if runtimes added after ours (another install's, the operator's) remain, removing runc would
 * leave them without it and break CRI. Runtimes the file had before us worked without runc and still do.
 */
function runcStillNeeded(file: RecordedConfigFile, value: TomlTable): boolean {
  const runc = file.tables.find((table) => table.at(-1) === 'runc');
  if (runc === undefined) return false;
  const mapPath = runc.slice(0, -1);
  const ours = new Set(file.tables.map((table) => table.at(runc.length - 1)));
  const originalMap =
    file.original === null
      ? undefined
      : getPath(parseTomlText(file.path, Buffer.from(file.original, 'base64').toString('utf8')), mapPath);
  const before = new Set(isTable(originalMap) ? Object.keys(originalMap) : []);
  const map = getPath(value, mapPath);
  return isTable(map) && Object.keys(map).some((name) => !ours.has(name) && !before.has(name));
}

/**
 * The file's text without our tables and imports entry, checked semantically: the exact block we appended
 * is cut first; if that would move someone's later lines into another table, each table is cut by its span
 * instead; if that also changes anything else, we refuse rather than guess.
 */
export function removeOurs(file: RecordedConfigFile, doc: TomlDocument): string {
  const attempts = file.inserted === null ? [undefined] : [file.inserted, undefined];
  let failure: unknown;
  for (const inserted of attempts) {
    let text = file.tables.length === 0 ? doc.text : removeTables(doc.text, file.tables, inserted);
    if (ourImports(file).length > 0)
      text = removeOurImport(text, ourImports(file), file.tables.length > 0 ? undefined : inserted);
    try {
      checkOnlyOursRemoved(file, doc.value, text);
      return text;
    } catch (error) {
      failure = error;
    }
  }
  throw failure;
}

function checkOnlyOursRemoved(file: RecordedConfigFile, before: TomlTable, afterText: string): void {
  let after: TomlTable;
  try {
    after = parseTomlText(file.path, afterText);
  } catch (cause) {
    throw new KataDeployError(
      'config-refused',
      `${file.path}: removing kata-deploy's handlers would leave invalid TOML`,
      {
        hint: 'remove the kata-deploy runtime tables by hand; nothing was changed',
        cause,
      },
    );
  }
  let expected = file.tables.reduce((value, table) => withoutPath(value, table), before);
  const imported = before.imports;
  const ours = ourImports(file);
  if (ours.length > 0 && Array.isArray(imported)) {
    const wanted = imported.filter((item) => !ours.includes(item as string));
    expected =
      after.imports === undefined && wanted.length === 0
        ? withoutPath(expected, ['imports'])
        : withPath(expected, ['imports'], wanted);
  }
  const difference = firstDifference(pruneEmpty(expected), pruneEmpty(after));
  if (difference !== undefined) {
    throw new KataDeployError(
      'config-refused',
      `${file.path}: removing kata-deploy's handlers would also change ${difference}`,
      {
        hint: 'remove the kata-deploy runtime tables by hand; nothing was changed',
      },
    );
  }
}

/** The `imports` entries one install added to a file: its drop-in's, then the operator's drop-in's. */
function ourImports(file: RecordedConfigFile): string[] {
  return [file.importEntry, file.userImportEntry].filter((entry): entry is string => typeof entry === 'string');
}

/** Drops empty tables, which exist or not depending on whether a header or only a sub-table names them. */
export function pruneEmpty(value: TomlTable): TomlTable {
  const result: TomlTable = {};
  for (const [key, child] of Object.entries(value)) {
    if (!isTable(child)) {
      result[key] = child;
      continue;
    }
    const pruned = pruneEmpty(child);
    if (Object.keys(pruned).length > 0) result[key] = pruned;
  }
  return result;
}
