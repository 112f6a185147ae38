import { renderTables, renderString, type OwnedTable } from './handler-tables.js';
import { decodeString, type KeyValueSpan, scanArray, scanToml } from './toml-lexer.js';

/**
 * Text edits of an operator's TOML file that touch only the bytes they must. Every function here takes
 * text and returns text; callers re-parse the result and check the semantic difference is exactly theirs.
 */

/** The comment line that opens the block of tables we append, so a reader knows who wrote them. */
export const BLOCK_MARKER = '# Added by kata-deploy: removed again by `kata-deploy uninstall`.';

/** The line ending a file uses (its first one), so inserted lines match it. */
export function lineEnding(text: string): string {
  return text[text.indexOf('\n') - 1] === '\r' ? '\r\n' : '\n';
}

/** The root `imports = [...]` statement, if the file has one. */
function importsStatement(text: string): KeyValueSpan | undefined {
  return scanToml(text).keyValues.find(isRootImports);
}

function isRootImports(item: KeyValueSpan): boolean {
  return item.table.length === 0 && item.key.length === 1 && item.key[0] === 'imports';
}

/**
 * Appends our tables at the end of the file. TOML lets a sub-table appear anywhere after or before its
 * parent, so the end is the one place where adding tables cannot split someone else's table. Returns the
 * new text and the exact block inserted (recorded, so removal can cut exactly that block).
 */
export function appendTables(text: string, tables: readonly OwnedTable[]): { text: string; inserted: string } {
  const eol = lineEnding(text);
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const needsEol = body.length > 0 && !text.endsWith('\n');
  const separator = `${needsEol ? eol : ''}${body.trim().length > 0 ? eol : ''}`;
  const inserted = `${separator}${BLOCK_MARKER}${eol}${renderTables(tables, eol)}`;
  return { text: text + inserted, inserted };
}

/**
 * Removes tables we own. When the exact block we appended is still there it is cut out whole (restoring
 * the rest byte for byte); otherwise each of our tables is cut by its span, keeping whatever the operator
 * wrote around it.
 */
export function removeTables(
  text: string,
  paths: readonly (readonly string[])[],
  inserted: string | undefined,
): string {
  if (inserted !== undefined && inserted.length > 0) {
    const at = text.lastIndexOf(inserted);
    if (at >= 0) return text.slice(0, at) + text.slice(at + inserted.length);
  }
  const wanted = new Set(paths.map((path) => JSON.stringify(path)));
  const layout = scanToml(text);
  const cuts = layout.tables
    .filter((table) => table.kind === 'table' && wanted.has(JSON.stringify(table.path)))
    .map((table) => ({ start: table.start, end: trimTrailingComments(text, table.start, table.end) }));
  let result = text;
  for (const cut of cuts.reverse()) result = result.slice(0, cut.start) + result.slice(cut.end);
  return removeMarker(result);
}

/** Moves a table span's end back over trailing comment and blank lines (they introduce the next table). */
function trimTrailingComments(text: string, start: number, end: number): number {
  const lines = text.slice(start, end).split(/(?<=\n)/);
  let keep = lines.length;
  while (keep > 1 && /^\s*(#.*)?\r?\n?$/.test(lines[keep - 1] ?? '')) keep--;
  return start + lines.slice(0, keep).join('').length;
}

function removeMarker(text: string): string {
  const at = text.indexOf(BLOCK_MARKER);
  if (at < 0 || (at > 0 && text[at - 1] !== '\n')) return text;
  const lineEnd = text.indexOf('\n', at);
  return text.slice(0, at) + (lineEnd < 0 ? '' : text.slice(lineEnd + 1));
}

/** The strings of the root `imports` array, or undefined when there is no such key. */
export function rootImports(text: string): string[] | undefined {
  const kv = importsStatement(text);
  if (kv === undefined) return undefined;
  return scanArray(text, kv.valueStart, kv.valueEnd).map((element) =>
    decodeString(text.slice(element.start, element.end)),
  );
}

/**
 * Adds one entry to the root `imports` array, keeping its layout (one line or many, trailing comma, comments),
 * or adds an `imports` line after the root keys when there is none (never above a leading comment such as
 * k0s's `# k0s_managed=true`, which must stay the first line). `first` puts it before the other entries.
 * Several entries go in together, in the order given.
 */
export function addImport(
  text: string,
  entry: string | readonly string[],
  position: 'first' | 'last' = 'last',
): { text: string; insertedLine: string | undefined } {
  const layout = scanToml(text);
  const eol = lineEnding(text);
  const kv = layout.keyValues.find(isRootImports);
  const quoted = (typeof entry === 'string' ? [entry] : entry).map(renderString).join(', ');
  if (kv === undefined) {
    const rootKeys = layout.keyValues.filter((item) => item.table.length === 0);
    const firstTable = layout.tables[0];
    const at = rootKeys.at(-1)?.lineEnd ?? firstTable?.start ?? text.length;
    const before = text.slice(0, at);
    const lead = before.length > layout.bodyStart && !before.endsWith('\n') ? eol : '';
    const insertedLine = `${lead}imports = [${quoted}]${eol}`;
    return { text: before + insertedLine + text.slice(at), insertedLine };
  }
  const elements = scanArray(text, kv.valueStart, kv.valueEnd);
  const last = elements.at(-1);
  if (last === undefined) {
    const inner = text.slice(kv.valueStart + 1, kv.valueEnd - 1);
    if (!inner.includes('#'))
      return { text: `${text.slice(0, kv.valueStart)}[${quoted}]${text.slice(kv.valueEnd)}`, insertedLine: undefined };
    return {
      text: `${text.slice(0, kv.valueStart + 1)}${quoted}${text.slice(kv.valueStart + 1)}`,
      insertedLine: undefined,
    };
  }
  if (position === 'first') {
    const first = elements[0] ?? last;
    return { text: `${text.slice(0, first.start)}${quoted}, ${text.slice(first.start)}`, insertedLine: undefined };
  }
  if (last.commaAt !== undefined) {
    const multiLine = text.slice(kv.valueStart, last.start).includes('\n');
    const insert = multiLine ? `${eol}${trailingIndent(text.slice(0, last.start))}${quoted},` : ` ${quoted},`;
    return { text: text.slice(0, last.commaAt + 1) + insert + text.slice(last.commaAt + 1), insertedLine: undefined };
  }
  return { text: `${text.slice(0, last.end)}, ${quoted}${text.slice(last.end)}`, insertedLine: undefined };
}

/**
 * Takes our `imports` entry out again: the whole line when we added the key ourselves and it is still
 * there verbatim, else just the element.
 */
export function removeOurImport(
  text: string,
  entry: string | readonly string[],
  insertedLine: string | undefined,
): string {
  const kv = insertedLine === undefined ? undefined : importsStatement(text);
  if (kv !== undefined && insertedLine !== undefined) {
    const lead = /^\r?\n/.exec(insertedLine)?.[0].length ?? 0;
    const lineStart = kv.lineStart - lead;
    if (text.startsWith(insertedLine, lineStart))
      return text.slice(0, lineStart) + text.slice(lineStart + insertedLine.length);
  }
  return (typeof entry === 'string' ? [entry] : entry).reduce(removeImport, text);
}

/** Removes every `imports` element equal to `entry` with its separating comma; the rest is left as is. */
export function removeImport(text: string, entry: string): string {
  for (;;) {
    const kv = importsStatement(text);
    if (kv === undefined) return text;
    const elements = scanArray(text, kv.valueStart, kv.valueEnd);
    const index = elements.findIndex((element) => decodeString(text.slice(element.start, element.end)) === entry);
    const element = elements[index];
    if (element === undefined) return text;
    const previous = elements[index - 1];
    if (previous?.commaAt !== undefined) {
      text = text.slice(0, previous.commaAt) + text.slice(element.end);
    } else if (element.commaAt !== undefined) {
      let end = element.commaAt + 1;
      while (text[end] === ' ' || text[end] === '\t') end++;
      text = text.slice(0, element.start) + text.slice(end);
    } else {
      text = text.slice(0, element.start) + text.slice(element.end);
    }
  }
}

/** The spaces and tabs that end `text`: the indent of the element that follows them. */
function trailingIndent(text: string): string {
  return text.slice(text.replace(/[ \t]*$/, '').length);
}
