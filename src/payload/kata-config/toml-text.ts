/** Comment text on one line: control characters (a newline would end the comment) written as escapes. */
function commentText(text: string): string {
  let out = '';
  for (const char of text) {
    const code = char.codePointAt(0)!;
    out += code < 0x20 || code === 0x7f ? `\\u${code.toString(16).padStart(4, '0')}` : char;
  }
  return out;
}

/** A value a drop-in sets: the few TOML types Kata's keys need. */
export type DropInValue = string | boolean | number | readonly string[];

/** A TOML basic string, escaped so any proxy URL or path round-trips. */
export function tomlString(value: string): string {
  let out = '"';
  for (const char of value) {
    const code = char.codePointAt(0)!;
    if (char === '"' || char === '\\') out += `\\${char}`;
    else if (char === '\n') out += '\\n';
    else if (char === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += char;
  }
  return `${out}"`;
}

function renderValue(value: DropInValue): string {
  if (typeof value === 'string') return tomlString(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return String(value);
  return `[${value.map(tomlString).join(', ')}]`;
}

/** A table name as a TOML key path: `hypervisor.qemu`, quoting parts that need it (`cloud-hypervisor` does not). */
function tableKey(path: readonly string[]): string {
  return path.map((part) => (/^[A-Za-z0-9_-]+$/.test(part) ? part : tomlString(part))).join('.');
}

/** One table of a drop-in: its path and keys in the order written. */
export interface DropInTable {
  readonly table: readonly string[];
  readonly values: ReadonlyArray<readonly [string, DropInValue]>;
}

/**
 * Renders a whole drop-in we own: a comment saying who wrote it and why, then its tables. We write
 * whole files only; an operator's file is never re-serialised.
 */
export function renderDropIn(comment: readonly string[], tables: readonly DropInTable[]): string {
  const lines = comment.map((line) => `# ${commentText(line)}`.trimEnd());
  for (const { table, values } of tables) {
    if (values.length === 0) continue;
    lines.push('', `[${tableKey(table)}]`, ...values.map(([key, value]) => `${key} = ${renderValue(value)}`));
  }
  return `${lines.join('\n')}\n`;
}
