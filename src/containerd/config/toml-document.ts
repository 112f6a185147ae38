import { TomlError } from 'smol-toml';
import { KataDeployError } from '../../core/errors.js';
import { parseTomlValues } from '../../core/toml-values.js';

/** A TOML value tree as the parser returns it. */
export type TomlTable = { [key: string]: unknown };

/** An operator's config file: its exact text (for in-place edits) and its parsed value (for decisions). */
export interface TomlDocument {
  readonly path: string;
  readonly text: string;
  readonly value: TomlTable;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Decodes and parses a config file, refusing (exit 5) with the file, line and column on anything a TOML 1.0
 * parser rejects: invalid syntax, duplicate keys, a table defined twice, invalid UTF-8. We never touch a file
 * we cannot read exactly, because every later edit is checked by re-parsing.
 */
export function parseTomlDocument(path: string, bytes: Buffer | string): TomlDocument {
  let text: string;
  try {
    text = typeof bytes === 'string' ? bytes : UTF8.decode(bytes);
  } catch (cause) {
    throw refused(path, 'is not valid UTF-8', cause);
  }
  return { path, text, value: parseTomlText(path, text) };
}

/** Parses TOML text (a leading BOM allowed), refusing with the position on failure. The value is frozen. */
export function parseTomlText(path: string, text: string): TomlTable {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    // Shared and frozen (parseTomlValues): a converged reinstall parsed its 14 KB drop-in nine times.
    return parseTomlValues(body) as TomlTable;
  } catch (cause) {
    if (cause instanceof TomlError) {
      const first = cause.message.split('\n')[0] ?? cause.message;
      throw refused(path, `is not valid TOML at line ${cause.line}, column ${cause.column}: ${first}`, cause);
    }
    throw refused(path, `is not valid TOML: ${String(cause)}`, cause);
  }
}

function refused(path: string, what: string, cause: unknown): KataDeployError {
  return new KataDeployError('config-refused', `${path} ${what}`, {
    hint: 'fix the file (containerd would refuse it too) and run kata-deploy again; nothing was changed',
    cause,
  });
}

/** True when `value` is a TOML table (not an array, date or scalar). */
export function isTable(value: unknown): value is TomlTable {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** The value at a key path, or undefined when any step is missing or not a table. */
export function getPath(root: unknown, path: readonly string[]): unknown {
  let node: unknown = root;
  for (const key of path) {
    if (!isTable(node) || !Object.hasOwn(node, key)) return undefined;
    node = node[key];
  }
  return node;
}

/** A deep copy of `root` with `value` set at `path` (intermediate tables created). */
export function withPath(root: TomlTable, path: readonly string[], value: unknown): TomlTable {
  const [head, ...rest] = path;
  if (head === undefined) return root;
  const child = root[head];
  return { ...root, [head]: rest.length === 0 ? value : withPath(isTable(child) ? child : {}, rest, value) };
}

/** A deep copy of `root` without the key at `path`; tables left empty by the removal are kept. */
export function withoutPath(root: TomlTable, path: readonly string[]): TomlTable {
  const [head, ...rest] = path;
  if (head === undefined || !Object.hasOwn(root, head)) return root;
  if (rest.length === 0) {
    const { [head]: _removed, ...others } = root;
    return others;
  }
  const child = root[head];
  return isTable(child) ? { ...root, [head]: withoutPath(child, rest) } : root;
}

/** Structural equality of parsed TOML values (dates compared by their text form). */
export function tomlEqual(a: unknown, b: unknown): boolean {
  if (a instanceof Date || b instanceof Date) return String(a) === String(b) && a?.constructor === b?.constructor;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, i) => tomlEqual(item, b[i]));
  }
  if (isTable(a) || isTable(b)) {
    if (!isTable(a) || !isTable(b)) return false;
    const keys = Object.keys(a);
    return (
      keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && tomlEqual(a[key], b[key]))
    );
  }
  return Object.is(a, b) || (typeof a === 'number' && typeof b === 'number' && a === b);
}

/** The first key path where two parsed values differ, for error messages; undefined when equal. */
export function firstDifference(a: unknown, b: unknown, at: readonly string[] = []): string | undefined {
  if (isTable(a) && isTable(b)) {
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const found = firstDifference(a[key], b[key], [...at, key]);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  return tomlEqual(a, b) ? undefined : at.join('.') || '(root)';
}
