import { KataDeployError } from '../../core/errors.js';
import { DEBUG_LEVEL_TABLE } from './debug-level.js';
import { refuseForeignHandlers } from './conflicts.js';
import { handlerTables, renderTables, type ConfigVersion } from './handler-tables.js';
import { importedFiles, resolveImport } from './imports.js';
import { addImport, rootImports } from './in-place-edit.js';
import { minimalConfig, stripPrevious, type FilePlan } from './in-place-plan.js';
import { sha256 } from '../../core/digest.js';
import type { RecordedConfigFile, RuntimeConfigRecord } from './record.js';
import type { RuntimeConfigRequest } from './request.js';
import { planUserDropIn, userDropInPath } from './user-drop-in.js';
import { firstDifference, parseTomlDocument, parseTomlText, withPath, type TomlDocument } from './toml-document.js';

/** Where our drop-in goes and how containerd gets to read it. */
export interface DropInTarget {
  readonly dropInPath: string;
  /** The config version our drop-in declares. */
  readonly version: ConfigVersion;
  /** The version whose plugin IDs our tables use (differs only for v2 files that already use v3 IDs). */
  readonly idVersion: ConfigVersion;
  /** The main file whose `imports` we may extend; undefined when the distribution imports drop-ins itself. */
  readonly editableMain: string | undefined;
  /** The entry to add to the main file's `imports`; undefined when an existing glob already covers us. */
  readonly importEntry: string | undefined;
  /** Files containerd reads besides our drop-in (main and other imports), checked for clashing handlers. */
  readonly otherDocs: readonly TomlDocument[];
}

const HEADER = '# Written by kata-deploy. Do not edit: `kata-deploy uninstall` deletes this file.\n';

/** The whole text of our drop-in (we own the file, so it is rendered, never edited). */
export function renderDropIn(
  request: RuntimeConfigRequest,
  version: ConfigVersion,
  idVersion: ConfigVersion = version,
): string {
  const debugTables = request.debugLevel === true ? [DEBUG_LEVEL_TABLE] : [];
  return (
    `${HEADER}version = ` +
    `${version}\n\n${renderTables([...handlerTables(idVersion, request.handlers, undefined), ...debugTables], '\n')}`
  );
}

/**
 * containerd ≥ 2.0 (and k3s/rke2/k0s): our handlers live in a drop-in we own, merged deeply by containerd,
 * so the operator's file changes by at most one `imports` entry. containerd 2.x keeps its default runc when
 * a drop-in adds runtimes, so no runc handler is ever written here.
 */
export function planDropIn(
  request: RuntimeConfigRequest,
  current: ReadonlyMap<string, Buffer | undefined>,
  previous: RuntimeConfigRecord | undefined,
  target: DropInTarget,
): FilePlan[] {
  const userFile = userDropInPath(target.dropInPath, request.suffix);
  refuseForeignHandlers(
    target.otherDocs.filter((doc) => doc.path !== target.dropInPath && doc.path !== userFile),
    request.handlers.map((handler) => handler.name),
  );
  const plans: FilePlan[] = [];
  const text = renderDropIn(request, target.version, target.idVersion);
  parseTomlText(target.dropInPath, text);
  const before = current.get(target.dropInPath);
  const ownedBefore = previous?.files.some((file) => file.path === target.dropInPath && file.ownedWhole) ?? false;
  if (before !== undefined && !ownedBefore && !before.equals(Buffer.from(text))) {
    throw new KataDeployError(
      'config-refused',
      `${target.dropInPath} already exists and was not written by this install`,
      {
        hint:
          'remove it if it is left over from another installer, or install with MULTI_INSTALL_SUFFIX; nothing ' +
          'was changed',
      },
    );
  }
  const after = Buffer.from(text);
  plans.push({
    change: {
      path: target.dropInPath,
      before,
      after,
      reason: `runtime handlers ${request.handlers.map((h) => h.name).join(', ')}`,
    },
    recorded: {
      path: target.dropInPath,
      original: null,
      writtenSha256: sha256(after),
      ownedWhole: true,
      tables: [],
      inserted: null,
      importEntry: null,
    },
  });
  const user = planUserDropIn(request, current, previous, {
    dropInPath: target.dropInPath,
    version: target.version,
    idVersion: target.idVersion,
    explicitImport: target.importEntry !== undefined,
  });
  if (user !== undefined) plans.push(user.plan);
  const main = target.editableMain;
  const previousMain = previous?.files.find((file) => file.path === main && !file.ownedWhole);
  if (main !== undefined && (target.importEntry !== undefined || previousMain !== undefined)) {
    const entries = [target.importEntry, user?.importEntry].filter((entry) => entry !== undefined);
    plans.push(planImport(main, current, previousMain, entries, target.dropInPath));
  }
  return plans;
}

/** `entries`: ours first, then the operator's drop-in's; each added only where no entry already reads it. */
function planImport(
  path: string,
  current: ReadonlyMap<string, Buffer | undefined>,
  previous: RecordedConfigFile | undefined,
  entries: readonly string[],
  dropIn: string,
): FilePlan {
  const bytes = current.get(path);
  const currentText = bytes === undefined ? undefined : parseTomlDocument(path, bytes).text;
  const minimal = minimalConfig(3);
  const base = currentText === undefined ? minimal : stripPrevious(path, currentText, previous);
  const created = currentText === undefined || (previous?.original === null && base === minimal);
  const baseDoc = parseTomlDocument(path, base);
  const existing = rootImports(base) ?? [];
  const wanted = entries.filter((entry) => !existing.some((item) => resolveImport(path, item) === entry));
  const entry = wanted.find((item) => item === dropIn);
  const userEntry = wanted.find((item) => item !== dropIn);
  const needed = wanted.length > 0;
  // First, not last: containerd 2.1 stops reading imports at a missing file, and whether one is missing
  // can change after we validated. Nobody else may define our handlers, so the merge order cannot matter;
  // the operator's drop-in comes right after ours so that its settings win, as its `zz-` name says.
  const added = needed ? addImport(base, wanted, 'first') : { text: base, insertedLine: undefined };
  const text = added.text;
  if (needed) {
    const after = parseTomlText(path, text);
    const expected = withPath(baseDoc.value, ['imports'], [...wanted, ...existing]);
    const difference = firstDifference(expected, after);
    if (difference !== undefined) {
      throw new KataDeployError('config-refused', `${path}: adding our imports entry would also change ${difference}`, {
        hint: "this is a bug in kata-deploy's TOML editor; please report the file (nothing was changed)",
      });
    }
  }
  const finalText = created && !needed ? undefined : text;
  const after = finalText === undefined ? undefined : Buffer.from(finalText);
  return {
    change: {
      path,
      before: bytes,
      after,
      reason: needed ? `import ${wanted.join(', ')}` : `drop our imports entry from ${path}`,
    },
    recorded: {
      path,
      original: created ? null : Buffer.from(base).toString('base64'),
      writtenSha256: after === undefined ? '' : sha256(after),
      ownedWhole: false,
      tables: [],
      inserted: added.insertedLine ?? null,
      importEntry: entry ?? null,
      ...(userEntry === undefined ? {} : { userImportEntry: userEntry }),
    },
  };
}

/**
 * The documents containerd reads for a main config: the main file and every imported file we were given (imports
 * resolved).
 */
export function configDocs(
  mainPath: string,
  main: TomlDocument | undefined,
  current: ReadonlyMap<string, Buffer | undefined>,
  imports: readonly string[],
): TomlDocument[] {
  const known = [...current.entries()].filter(([, bytes]) => bytes !== undefined).map(([file]) => file);
  const docs = importedFiles(imports, known)
    .filter((file) => file !== mainPath)
    .map((file) => parseTomlDocument(file, current.get(file) as Buffer));
  return [...(main === undefined ? [] : [main]), ...docs];
}
