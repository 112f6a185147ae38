import { describe, expect, it } from 'vitest';
import type { OwnedTable } from '../../src/containerd/config/handler-tables.js';
import {
  addImport,
  appendTables,
  BLOCK_MARKER,
  lineEnding,
  removeImport,
  removeOurImport,
  removeTables,
  rootImports,
} from '../../src/containerd/config/in-place-edit.js';

const KATA: OwnedTable = { path: ['plugins', 'cri', 'kata'], entries: [['runtime_type', 'io.containerd.kata.v2']] };
const OPTIONS: OwnedTable = { path: ['plugins', 'cri', 'kata', 'options'], entries: [['ConfigPath', '/opt/k.toml']] };
const KATA_BLOCK = '[plugins.cri.kata]\nruntime_type = "io.containerd.kata.v2"\n';
const OPTIONS_BLOCK = '[plugins.cri.kata.options]\nConfigPath = "/opt/k.toml"\n';
const crlf = (text: string): string => text.replace(/\n/g, '\r\n');

describe('lineEnding', () => {
  it.each([
    ['a = 1\r\nb = 2\n', '\r\n'],
    ['a = 1\nb = 2\r\n', '\n'],
    ['\r\n', '\r\n'],
    ['\n\r\n', '\n'],
    ['a = 1', '\n'],
    ['', '\n'],
  ])('reads the first line ending of %j', (text, eol) => {
    expect(lineEnding(text)).toBe(eol);
  });
});

describe('appendTables', () => {
  it.each<[string, string, string]>([
    ['an empty file', '', `${BLOCK_MARKER}\n${KATA_BLOCK}\n${OPTIONS_BLOCK}`],
    ['a blank file', '  \n', `\n${BLOCK_MARKER}\n${KATA_BLOCK}\n${OPTIONS_BLOCK}`.replace(/^/, '')],
    ['a file with a final newline', 'version = 2\n', `\n${BLOCK_MARKER}\n${KATA_BLOCK}\n${OPTIONS_BLOCK}`],
    ['a file without a final newline', 'version = 2', `\n\n${BLOCK_MARKER}\n${KATA_BLOCK}\n${OPTIONS_BLOCK}`],
  ])('appends the marked block to %s', (_name, text, inserted) => {
    const expected = _name === 'a blank file' ? `${BLOCK_MARKER}\n${KATA_BLOCK}\n${OPTIONS_BLOCK}` : inserted;
    expect(appendTables(text, [KATA, OPTIONS])).toEqual({ text: text + expected, inserted: expected });
  });

  it("writes a CRLF file's own line ending on every inserted line", () => {
    const text = crlf('version = 2\n[plugins.cri]\nx = 1\n');
    const inserted = crlf(`\n${BLOCK_MARKER}\n${KATA_BLOCK}\n${OPTIONS_BLOCK}`);
    expect(appendTables(text, [KATA, OPTIONS])).toEqual({ text: text + inserted, inserted });
  });

  it('counts a one-character file as content', () => {
    expect(appendTables('#', [KATA]).inserted).toBe(`\n\n${BLOCK_MARKER}\n${KATA_BLOCK}`);
  });

  it('treats a byte-order mark as no content', () => {
    expect(appendTables('\uFEFF', [KATA]).inserted).toBe(`${BLOCK_MARKER}\n${KATA_BLOCK}`);
    expect(appendTables('\uFEFFa = 1\n', [KATA]).inserted).toBe(`\n${BLOCK_MARKER}\n${KATA_BLOCK}`);
  });
});

describe('removeTables', () => {
  const operator = 'version = 2\n[plugins.cri]\nx = 1\n';

  it('cuts the exact block it appended, restoring the file byte for byte (LF and CRLF)', () => {
    for (const text of [operator, crlf(operator), 'version = 2', '']) {
      const { text: installed, inserted } = appendTables(text, [KATA, OPTIONS]);
      expect(removeTables(installed, [KATA.path, OPTIONS.path], inserted)).toBe(text);
    }
  });

  // The span cut leaves the blank lines that separated our tables: only the operator's lines matter here.
  it('cuts each of our tables by its span when the operator edited the block, keeping their lines', () => {
    const { text: installed, inserted } = appendTables(operator, [KATA, OPTIONS]);
    const edited = `${installed}# operator's note\n[metrics]\naddress = "x"\n`.replace(
      'runtime_type = "io.containerd.kata.v2"\n',
      'runtime_type = "io.containerd.kata.v2"\nextra = true\n',
    );
    expect(edited.includes(inserted)).toBe(false);
    expect(removeTables(edited, [KATA.path, OPTIONS.path], inserted)).toBe(
      `${operator}\n\n# operator's note\n[metrics]\naddress = "x"\n`,
    );
  });

  it('keeps CRLF line endings when it cuts by span', () => {
    const { text: installed, inserted } = appendTables(crlf(operator), [KATA, OPTIONS]);
    const edited = `${installed}\r\n[metrics]\r\naddress = "x"\r\n`.replace(
      'kata.v2"\r\n',
      'kata.v2"\r\nextra = 1\r\n',
    );
    expect(removeTables(edited, [KATA.path, OPTIONS.path], inserted)).toBe(
      `${crlf(operator)}\r\n\r\n\r\n[metrics]\r\naddress = "x"\r\n`,
    );
  });

  it('cuts by span without a recorded block, and leaves tables that are not ours', () => {
    const text = `[a]\nx = 1\n${KATA_BLOCK}# trailing comment\n\n[b]\ny = 2\n`;
    expect(removeTables(text, [KATA.path], undefined)).toBe('[a]\nx = 1\n# trailing comment\n\n[b]\ny = 2\n');
    expect(removeTables(text, [KATA.path], '')).toBe('[a]\nx = 1\n# trailing comment\n\n[b]\ny = 2\n');
    expect(removeTables(text, [['a', 'b']], undefined)).toBe(text);
  });

  it('leaves an array of tables with our path, which is not ours', () => {
    const text = `[[plugins.cri.kata]]\nx = 1\n${KATA_BLOCK}`;
    expect(removeTables(text, [KATA.path], undefined)).toBe('[[plugins.cri.kata]]\nx = 1\n');
  });

  it('keeps indented and final comments that follow our table', () => {
    expect(removeTables(`a = 1\n${KATA_BLOCK}  # indented note\n`, [KATA.path], undefined)).toBe(
      'a = 1\n  # indented note\n',
    );
    expect(removeTables(`a = 1\n${KATA_BLOCK}# last line`, [KATA.path], undefined)).toBe('a = 1\n# last line');
  });

  it('removes the marker line only where it starts a line', () => {
    const marked = `a = 1\n${BLOCK_MARKER}\n${KATA_BLOCK}`;
    expect(removeTables(marked, [KATA.path], undefined)).toBe('a = 1\n');
    const quoted = `a = "${BLOCK_MARKER}"\n${KATA_BLOCK}`;
    expect(removeTables(quoted, [KATA.path], undefined)).toBe(`a = "${BLOCK_MARKER}"\n`);
    expect(removeTables(`${BLOCK_MARKER}`, [], undefined)).toBe('');
  });
});

describe('imports', () => {
  it.each<[string, string, string | undefined]>([
    ['version = 2\n', 'imports = []', undefined],
    ['imports = ["/a.toml", \'/b.toml\']\n', '', undefined],
  ])('reads the root imports of %j', (text) => {
    expect(rootImports(text)).toEqual(text.startsWith('imports') ? ['/a.toml', '/b.toml'] : undefined);
  });

  it('finds imports after other root keys, and ignores imports inside a table or as a dotted key', () => {
    expect(rootImports('version = 2\nimports = ["/a"]\n')).toEqual(['/a']);
    expect(rootImports('[x]\nimports = ["/a"]\n')).toBeUndefined();
    expect(rootImports('imports.a = ["/a"]\n')).toBeUndefined();
    expect(removeImport('[x]\nimports = ["/d"]\n', '/d')).toBe('[x]\nimports = ["/d"]\n');
    expect(addImport('[x]\nimports = ["/a"]\n', '/d').text).toBe('imports = ["/d"]\n[x]\nimports = ["/a"]\n');
  });

  it.each<[string, string, string, string | undefined]>([
    [
      'no key, root keys',
      'version = 2\n[x]\n',
      'version = 2\nimports = ["/d/*.toml"]\n[x]\n',
      'imports = ["/d/*.toml"]\n',
    ],
    ['no key, tables only', '[x]\na = 1\n', 'imports = ["/d/*.toml"]\n[x]\na = 1\n', 'imports = ["/d/*.toml"]\n'],
    ['no key, empty file', '', 'imports = ["/d/*.toml"]\n', 'imports = ["/d/*.toml"]\n'],
    [
      'no key, below a leading comment',
      '# k0s_managed=true\n[x]\n',
      '# k0s_managed=true\nimports = ["/d/*.toml"]\n[x]\n',
      'imports = ["/d/*.toml"]\n',
    ],
    [
      'no key, CRLF',
      'version = 2\r\n[x]\r\n',
      'version = 2\r\nimports = ["/d/*.toml"]\r\n[x]\r\n',
      'imports = ["/d/*.toml"]\r\n',
    ],
    [
      'no key, last root key without newline',
      'version = 2',
      'version = 2\nimports = ["/d/*.toml"]\n',
      '\nimports = ["/d/*.toml"]\n',
    ],
    [
      'no key, root keys then a comment before the first table',
      'a = 1\nb = 2\nc = 3\n\n# tables\n[x]\n',
      'a = 1\nb = 2\nc = 3\nimports = ["/d/*.toml"]\n\n# tables\n[x]\n',
      'imports = ["/d/*.toml"]\n',
    ],
    ['an empty array', 'imports = []\n', 'imports = ["/d/*.toml"]\n', undefined],
    ['an empty spaced array', '# top\nimports = [ ]\n', '# top\nimports = ["/d/*.toml"]\n', undefined],
    ['an empty array before a comment', 'imports = [ ]# none\n', 'imports = ["/d/*.toml"]# none\n', undefined],
    ['an empty array with a comment', 'imports = [ # none\n]\n', 'imports = ["/d/*.toml" # none\n]\n', undefined],
    ['one element', 'imports = ["/a"]\n', 'imports = ["/a", "/d/*.toml"]\n', undefined],
    ['a trailing comma', 'imports = ["/a",]\n', 'imports = ["/a", "/d/*.toml",]\n', undefined],
    [
      'a multi-line array with a trailing comma',
      'imports = [\n  "/a",\n]\n',
      'imports = [\n  "/a",\n  "/d/*.toml",\n]\n',
      undefined,
    ],
    [
      'a multi-line CRLF array with a trailing comma',
      'imports = [\r\n\t"/a",\r\n]\r\n',
      'imports = [\r\n\t"/a",\r\n\t"/d/*.toml",\r\n]\r\n',
      undefined,
    ],
  ])('adds an import to %s', (_name, text, expected, insertedLine) => {
    expect(addImport(text, '/d/*.toml')).toEqual({ text: expected, insertedLine });
  });

  it('puts the import first when asked', () => {
    expect(addImport('imports = ["/a", "/b"]\n', '/d/*.toml', 'first')).toEqual({
      text: 'imports = ["/d/*.toml", "/a", "/b"]\n',
      insertedLine: undefined,
    });
    expect(addImport('imports = []\n', '/d/*.toml', 'first').text).toBe('imports = ["/d/*.toml"]\n');
  });

  it('removes the whole line it added while it is still verbatim, else only the element', () => {
    const added = addImport('version = 2\n[x]\n', '/d/*.toml');
    expect(removeOurImport(added.text, '/d/*.toml', added.insertedLine)).toBe('version = 2\n[x]\n');
    const glued = addImport('version = 2', '/d/*.toml');
    expect(removeOurImport(glued.text, '/d/*.toml', glued.insertedLine)).toBe('version = 2');
    const crlfAdded = addImport('version = 2\r\n', '/d/*.toml');
    expect(removeOurImport(crlfAdded.text, '/d/*.toml', crlfAdded.insertedLine)).toBe('version = 2\r\n');
    const grown = added.text.replace('["/d/*.toml"]', '["/d/*.toml", "/mine"]');
    expect(removeOurImport(grown, '/d/*.toml', added.insertedLine)).toBe('version = 2\nimports = ["/mine"]\n[x]\n');
    expect(removeOurImport('version = 2\n', '/d/*.toml', 'imports = ["/d/*.toml"]\n')).toBe('version = 2\n');
    expect(removeOurImport('imports = ["/a", "/d/*.toml"]\n', '/d/*.toml', undefined)).toBe('imports = ["/a"]\n');
  });

  it.each([
    ['the only element', 'imports = ["/d"]\n', 'imports = []\n'],
    ['the last element', 'imports = ["/a", "/d"]\n', 'imports = ["/a"]\n'],
    ['the first element', 'imports = ["/d",  "/a"]\n', 'imports = ["/a"]\n'],
    ['a middle element', 'imports = ["/a", "/d", "/b"]\n', 'imports = ["/a", "/b"]\n'],
    ['every copy', 'imports = ["/d", "/a", \'/d\']\n', 'imports = ["/a"]\n'],
    ['a first element before a tab', 'imports = ["/d",\t"/a"]\n', 'imports = ["/a"]\n'],
    ['nothing when absent', 'imports = ["/a"]\n', 'imports = ["/a"]\n'],
    ['nothing without a key', 'version = 2\n', 'version = 2\n'],
  ])('removeImport takes out %s', (_name, text, expected) => {
    expect(removeImport(text, '/d')).toBe(expected);
  });
});
