import { KataDeployError } from '../../core/errors.js';
import type { FileChange } from '../../core/file-change.js';
import { configVersionOf } from './config-version.js';
import { refuseForeignHandlers } from './conflicts.js';
import { handlerTables, runtimesPath, tableValue, type ConfigVersion, type OwnedTable } from './handler-tables.js';
import { DEBUG_LEVEL_TABLE } from './debug-level.js';
import { appendTables } from './in-place-edit.js';
import { removeOurs } from './removal.js';
import { sha256 } from '../../core/digest.js';
import type { RecordedConfigFile } from './record.js';
import type { RuntimeConfigRequest } from './request.js';
import {
  firstDifference,
  getPath,
  isTable,
  parseTomlDocument,
  parseTomlText,
  withPath,
  type TomlTable,
} from './toml-document.js';

/** A planned change of one file and what the ledger must remember about it. */
export interface FilePlan {
  readonly change: FileChange;
  readonly recorded: RecordedConfigFile;
}

/** The config we create where none exists: the least containerd accepts, with an explicit version. */
export function minimalConfig(version: ConfigVersion): string {
  return `version = ${version}\n`;
}

/**
 * Our handlers written into an operator's file (containerd 1.6/1.7, whose imports replace whole plugin
 * sections, and microk8s's template). Tables we wrote before are cut out first, so dropped shims disappear
 * and a second identical install changes nothing; then the new block is appended and the result re-parsed:
 * it must differ from the operator's config by exactly our tables.
 */
export function planInPlace(
  request: RuntimeConfigRequest,
  path: string,
  bytes: Buffer | undefined,
  previous: RecordedConfigFile | undefined,
  createVersion: ConfigVersion,
): FilePlan {
  const current = bytes === undefined ? undefined : parseTomlDocument(path, bytes).text;
  const base = current === undefined ? minimalConfig(createVersion) : stripPrevious(path, current, previous);
  const created = current === undefined || (previous?.original === null && base === minimalConfig(createVersion));
  const doc = parseTomlDocument(path, base);
  const version = configVersionOf(doc, request.daemonVersion);
  refuseForeignHandlers(
    [doc],
    request.handlers.map((handler) => handler.name),
  );
  const needsRunc =
    (request.daemonVersion === undefined || request.daemonVersion.major < 2) && !hasRunc(doc.value, version);
  const tables = [
    ...handlerTables(version, request.handlers, needsRunc ? { systemdCgroup: request.systemdCgroup } : undefined),
    ...(request.debugLevel === true ? [DEBUG_LEVEL_TABLE] : []),
  ];
  const { text, inserted } = appendTables(base, tables);
  checkOnlyOurTables(path, doc.value, text, tables);
  const after = Buffer.from(text);
  return {
    change: { path, before: bytes, after, reason: `define ${describe(request, needsRunc)} in ${path}` },
    recorded: {
      path,
      original: created ? null : Buffer.from(base).toString('base64'),
      writtenSha256: sha256(after),
      ownedWhole: false,
      tables: tables.map((table) => table.path),
      inserted,
      importEntry: null,
    },
  };
}

/**
 * The operator's file without what an earlier install put in it (tables or an imports entry), whichever
 * way that install wrote: containerd may have been upgraded from 1.7 (in place) to 2.x (drop-in) since.
 */
export function stripPrevious(path: string, text: string, previous: RecordedConfigFile | undefined): string {
  if (previous === undefined || previous.ownedWhole) return text;
  return removeOurs(previous, parseTomlDocument(path, text));
}

function hasRunc(value: TomlTable, version: ConfigVersion): boolean {
  const map = getPath(value, runtimesPath(version));
  return isTable(map) && Object.hasOwn(map, 'runc');
}

/** Re-parses an edited file and refuses unless it equals the original plus exactly our tables. */
export function checkOnlyOurTables(
  path: string,
  before: TomlTable,
  afterText: string,
  tables: readonly OwnedTable[],
): void {
  let after: TomlTable;
  try {
    after = parseTomlText(path, afterText);
  } catch (cause) {
    throw new KataDeployError(
      'config-refused',
      `${path}: adding our runtime tables would make the file invalid TOML (is a parent table written inline, like ` +
        `runtimes = { … }?)`,
      {
        hint: 'write the runtimes map as [table] sections, or add the Kata handlers by hand; nothing was changed',
        cause,
      },
    );
  }
  const expected = tables.reduce(
    (value, table) => withPath(value, table.path, { ...getPathTable(value, table.path), ...tableValue(table) }),
    before,
  );
  const difference = firstDifference(expected, after);
  if (difference !== undefined) {
    throw new KataDeployError(
      'config-refused',
      `${path}: our edit would also change ${difference}, which is not ours to change`,
      {
        hint: "this is a bug in kata-deploy's TOML editor; please report the file (nothing was changed)",
      },
    );
  }
}

function getPathTable(value: TomlTable, path: readonly string[]): TomlTable {
  const found = getPath(value, path);
  return isTable(found) ? found : {};
}

function describe(request: RuntimeConfigRequest, runc: boolean): string {
  const names = request.handlers.map((handler) => handler.name);
  return `runtime handlers ${[...names, ...(runc ? ['runc'] : [])].join(', ')}`;
}
