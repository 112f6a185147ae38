/**
 * A TOML statement scanner that reports source positions instead of values. The in-place editor needs to
 * know where a table starts and ends, where a key's value sits and where an array's elements are, so it can
 * change a few bytes of an operator's file and leave every comment, quote style and line ending alone.
 * It assumes the text already parsed as TOML (callers parse first, to get a precise error), so it is
 * lenient: it never decides validity, only positions.
 */

/** A `[table]` or `[[array-of-tables]]` header, with the span of everything it owns. */
export interface TableSpan {
  readonly kind: 'table' | 'array';
  readonly path: readonly string[];
  /** Offset of the first byte of the header's line. */
  readonly start: number;
  /** Offset of the first byte of the next header's line, or the end of the text. */
  readonly end: number;
}

/** One `key = value` line, with the absolute path of its table and the span of its value. */
export interface KeyValueSpan {
  readonly table: readonly string[];
  readonly key: readonly string[];
  /** Offset of the first byte of the statement's line. */
  readonly lineStart: number;
  readonly valueStart: number;
  readonly valueEnd: number;
  /** Offset just after the statement's line ending (or the end of the text). */
  readonly lineEnd: number;
}

/** Everything scanToml finds: the tables, the key/value lines, and where the text starts after a BOM. */
export interface TomlLayout {
  readonly tables: readonly TableSpan[];
  readonly keyValues: readonly KeyValueSpan[];
  /** Offset just after a UTF-8 byte-order mark, else 0. */
  readonly bodyStart: number;
}

const BARE_KEY = /[A-Za-z0-9_-]/;

/** Scans TOML text into table and key/value spans (offsets are UTF-16 string indices). */
export function scanToml(text: string): TomlLayout {
  const tables: TableSpan[] = [];
  const keyValues: KeyValueSpan[] = [];
  const bodyStart = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let pos = bodyStart;
  let current: { kind: 'table' | 'array'; path: string[]; start: number } | undefined;
  let table: string[] = [];

  const lineStartOf = (at: number): number => text.lastIndexOf('\n', at - 1) + 1;
  const skipSpaces = (): void => {
    while (pos < text.length && (text[pos] === ' ' || text[pos] === '\t')) pos++;
  };
  // A trailing comment or anything else after a statement ends with its line.
  const skipToLineEnd = (): void => {
    const newline = text.indexOf('\n', pos);
    pos = newline < 0 ? text.length : newline + 1;
  };
  const readKey = (): string[] => {
    const parts: string[] = [];
    for (;;) {
      skipSpaces();
      const ch = text[pos];
      if (ch === '"' || ch === "'") {
        const end = skipString(text, pos);
        parts.push(decodeString(text.slice(pos, end)));
        pos = end;
      } else {
        const from = pos;
        while (BARE_KEY.test(text[pos] ?? '')) pos++;
        parts.push(text.slice(from, pos));
      }
      skipSpaces();
      if (text[pos] !== '.') return parts;
      pos++;
    }
  };

  while (pos < text.length) {
    const ch = text[pos];
    if (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n') {
      pos++;
    } else if (ch === '#') {
      skipToLineEnd();
    } else if (ch === '[') {
      const start = lineStartOf(pos);
      const kind = text[pos + 1] === '[' ? 'array' : 'table';
      pos += kind === 'array' ? 2 : 1;
      const path = readKey();
      if (current !== undefined) tables.push({ ...current, end: start });
      current = { kind, path, start };
      table = path;
      skipToLineEnd();
    } else {
      const lineStart = lineStartOf(pos);
      const key = readKey();
      pos++; // '='
      skipSpaces();
      const valueStart = pos;
      pos = skipValue(text, pos);
      const valueEnd = pos;
      skipToLineEnd();
      keyValues.push({ table, key, lineStart, valueStart, valueEnd, lineEnd: pos });
    }
  }
  if (current !== undefined) tables.push({ ...current, end: text.length });
  return { tables, keyValues, bodyStart };
}

/** Offset just past the string literal starting at `at` (any of the four TOML string forms). */
export function skipString(text: string, at: number): number {
  const quote = text[at] ?? '"';
  const triple = text.startsWith(quote.repeat(3), at);
  let pos = at + (triple ? 3 : 1);
  while (pos < text.length) {
    const ch = text[pos];
    if (ch === '\\' && quote === '"') {
      pos += 2;
    } else if (triple && text.startsWith(quote.repeat(3), pos)) {
      pos += 3;
      // Up to two more quotes may follow: they belong to the content (`a""""` ends with one quote inside).
      for (let extra = 0; extra < 2 && text[pos] === quote; extra++) pos++;
      return pos;
    } else if (!triple && ch === quote) {
      return pos + 1;
    } else {
      pos++;
    }
  }
  return pos;
}

/** Offset just past the value starting at `at`: a string, array, inline table or scalar. */
export function skipValue(text: string, at: number): number {
  const ch = text[at];
  if (ch === '"' || ch === "'") return skipString(text, at);
  if (ch === '[' || ch === '{') return skipBracketed(text, at);
  let pos = at;
  while (pos < text.length && !/[\s#,\]}]/.test(text[pos] ?? '')) pos++;
  // Local date-times may hold one space (`1979-05-27 07:32:00`).
  if (text[pos] === ' ' && /^\d{4}-\d{2}-\d{2}$/.test(text.slice(at, pos)) && /\d/.test(text[pos + 1] ?? '')) {
    pos++;
    while (pos < text.length && !/[\s#,\]}]/.test(text[pos] ?? '')) pos++;
  }
  return pos;
}

function skipBracketed(text: string, at: number): number {
  let depth = 0;
  let pos = at;
  while (pos < text.length) {
    const ch = text[pos];
    if (ch === '"' || ch === "'") {
      pos = skipString(text, pos);
      continue;
    }
    if (ch === '#') {
      while (pos < text.length && text[pos] !== '\n') pos++;
      continue;
    }
    if (ch === '[' || ch === '{') depth++;
    if (ch === ']' || ch === '}') {
      depth--;
      if (depth === 0) return pos + 1;
    }
    pos++;
  }
  return pos;
}

/** An array value's elements: each element's span and the offset of the comma after it, if any. */
export interface ArrayElement {
  readonly start: number;
  readonly end: number;
  readonly commaAt: number | undefined;
}

/** The elements of the array value spanning `[valueStart, valueEnd)`. */
export function scanArray(text: string, valueStart: number, valueEnd: number): ArrayElement[] {
  const elements: { start: number; end: number; commaAt: number | undefined }[] = [];
  let pos = valueStart + 1;
  const close = valueEnd - 1;
  while (pos < close) {
    const ch = text[pos] ?? '';
    if (/\s/.test(ch)) {
      pos++;
    } else if (ch === '#') {
      while (pos < close && text[pos] !== '\n') pos++;
    } else if (ch === ',') {
      const last = elements.at(-1);
      if (last !== undefined) last.commaAt = pos;
      pos++;
    } else {
      // max(): on text that is not valid TOML a stray `}` must not stall the scan.
      const end = Math.max(skipValue(text, pos), pos + 1);
      elements.push({ start: pos, end, commaAt: undefined });
      pos = end;
    }
  }
  return elements;
}

/** The value of a single-line basic or literal string token (what TOML would decode). */
export function decodeString(token: string): string {
  if (token.startsWith("'")) return token.slice(1, -1);
  const json = token.replace(/\\(U[0-9A-Fa-f]{8}|e|.)/g, (sequence: string, what: string) => {
    if (what === 'e') return '\\u001b';
    if (what.length === 1) return sequence;
    return String.fromCodePoint(Number.parseInt(what.slice(1), 16))
      .split('')
      .map((unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`)
      .join('');
  });
  return JSON.parse(json) as string;
}
