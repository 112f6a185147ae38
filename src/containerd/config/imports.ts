import path from 'node:path';

/**
 * containerd's `imports`: each entry is a file or a glob (Go filepath.Match: `*`, `?`, `[...]`, never
 * crossing `/`), relative entries resolved against the importing file's directory.
 */

/** The host path (or glob) an `imports` entry of `configPath` designates. */
export function resolveImport(configPath: string, entry: string): string {
  return path.posix.isAbsolute(entry)
    ? path.posix.normalize(entry)
    : path.posix.join(path.posix.dirname(configPath), entry);
}

/** True when an entry is a glob rather than one file. */
export function isGlob(entry: string): boolean {
  return /[*?[]/.test(entry);
}

/** Whether `file` matches the glob `pattern` the way containerd's filepath.Glob would list it. */
export function globMatches(pattern: string, file: string): boolean {
  const patternParts = pattern.split('/');
  const fileParts = file.split('/');
  return (
    patternParts.length === fileParts.length &&
    patternParts.every((part, i) => segmentRegExp(part).test(fileParts[i] ?? ''))
  );
}

function segmentRegExp(segment: string): RegExp {
  let source = '';
  for (let i = 0; i < segment.length; i++) {
    const ch = segment[i] ?? '';
    if (ch === '*') source += '[^/]*';
    else if (ch === '?') source += '[^/]';
    else if (ch === '[') {
      const close = segment.indexOf(']', i + 2);
      if (close < 0) return /(?!)/;
      const body = segment.slice(i + 1, close).replace(/^\^/, '!');
      source += `[${body.startsWith('!') ? `^${body.slice(1)}` : body}]`;
      i = close;
    } else if (ch === '\\') source += escapeRegExp(segment[++i] ?? '');
    else source += escapeRegExp(ch);
  }
  return new RegExp(`^${source}$`);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** The directory of a glob whose directory part is literal (`/etc/containerd/conf.d/*.toml`), else undefined. */
export function globDirectory(pattern: string): string | undefined {
  const dir = path.posix.dirname(pattern);
  return isGlob(dir) ? undefined : dir;
}

/**
 * The host path where a drop-in named `fileName` is picked up by one of the resolved import globs, so we
 * reuse an operator's (or containerd 2.2's default) `conf.d/*.toml` instead of adding an entry.
 */
export function dropInFromGlobs(resolvedImports: readonly string[], fileName: string): string | undefined {
  for (const entry of resolvedImports) {
    if (!isGlob(entry)) continue;
    const dir = globDirectory(entry);
    if (dir !== undefined && globMatches(entry, `${dir}/${fileName}`)) return `${dir}/${fileName}`;
  }
  return undefined;
}

/** The files among `known` that an import list makes containerd read, in import order. */
export function importedFiles(resolvedImports: readonly string[], known: Iterable<string>): string[] {
  const files = [...known];
  const result: string[] = [];
  for (const entry of resolvedImports) {
    const matches = isGlob(entry)
      ? files.filter((file) => globMatches(entry, file)).sort()
      : files.filter((file) => file === entry);
    for (const match of matches) if (!result.includes(match)) result.push(match);
  }
  return result;
}
