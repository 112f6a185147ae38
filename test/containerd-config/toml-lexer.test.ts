import { describe, expect, it } from 'vitest';
import { addImport, removeImport, rootImports } from '../../src/containerd/config/in-place-edit.js';
import { decodeString, scanArray, scanToml } from '../../src/containerd/config/toml-lexer.js';

describe('the TOML span scanner', () => {
  it('is not fooled by brackets, hashes and quotes inside strings and comments', () => {
    const text = [
      'a = "[not.a.table] # nor a comment"',
      "b = '''",
      '[still.inside]',
      "'''",
      'c = """x\\"""" # ends with a quote',
      '# [commented.table]',
      '[real . "dotted.name" . \'lit\']',
      'k = [ "]", # ]',
      '  { x = "}" } ]',
    ].join('\n');
    const layout = scanToml(text);
    expect(layout.tables.map((table) => table.path)).toEqual([['real', 'dotted.name', 'lit']]);
    expect(layout.keyValues.map((kv) => kv.key.join('.'))).toEqual(['a', 'b', 'c', 'k']);
    const k = layout.keyValues[3];
    expect(text.slice(k?.valueStart, k?.valueEnd)).toBe('[ "]", # ]\n  { x = "}" } ]');
  });

  it('gives each table the span up to the next header, and key paths with their table', () => {
    const text = '\uFEFFtop = 1\r\n[a.b]\r\nx.y = 2\r\n\r\n[[arr]]\r\nz = 3';
    const layout = scanToml(text);
    expect(layout.bodyStart).toBe(1);
    expect(
      layout.tables.map((table) => [table.kind, table.path.join('.'), text.slice(table.start, table.end)]),
    ).toEqual([
      ['table', 'a.b', '[a.b]\r\nx.y = 2\r\n\r\n'],
      ['array', 'arr', '[[arr]]\r\nz = 3'],
    ]);
    expect(layout.keyValues.map((kv) => [kv.table.join('.'), kv.key.join('.')])).toEqual([
      ['', 'top'],
      ['a.b', 'x.y'],
      ['arr', 'z'],
    ]);
  });

  it('lists array elements with their commas, skipping comments', () => {
    const text = 'i = [\n  "a", # one, two\n  \'b\'\n]';
    const kv = scanToml(text).keyValues[0];
    const elements = scanArray(text, kv?.valueStart ?? 0, kv?.valueEnd ?? 0).map((element) => [
      text.slice(element.start, element.end),
      element.commaAt !== undefined,
    ]);
    expect(elements).toEqual([
      ['"a"', true],
      ["'b'", false],
    ]);
  });

  it('decodes basic strings with every TOML escape, and literal strings as written', () => {
    expect(decodeString('"a\\tb\\\\c\\u00e9\\U0001F600\\""')).toBe('a\tb\\cé😀"');
    expect(decodeString("'C:\\\\path'")).toBe('C:\\\\path');
  });
});

describe('imports edits', () => {
  it.each([
    ['imports = []\n', 'imports = ["/x.toml"]\n'],
    ['imports = ["/a.toml"]\n', 'imports = ["/x.toml", "/a.toml"]\n'],
    ["imports = [\n  '/a.toml', # first\n]\n", 'imports = [\n  "/x.toml", \'/a.toml\', # first\n]\n'],
    ['# k0s_managed=true\nversion = 2\n[grpc]\n', '# k0s_managed=true\nversion = 2\nimports = ["/x.toml"]\n[grpc]\n'],
    ['# header only\n[grpc]\n', '# header only\nimports = ["/x.toml"]\n[grpc]\n'],
  ])('adds our entry first to %j and removes it again exactly', (before, after) => {
    const added = addImport(before, '/x.toml', 'first');
    expect(added.text).toBe(after);
    expect(rootImports(added.text)?.[0]).toBe('/x.toml');
  });

  it('removes an entry with its separating comma wherever it sits', () => {
    expect(removeImport('imports = ["/a", "/x", "/b"]', '/x')).toBe('imports = ["/a", "/b"]');
    expect(removeImport('imports = ["/x", "/b"]', '/x')).toBe('imports = ["/b"]');
    expect(removeImport('imports = [\n  "/a",\n  "/x",\n]', '/x')).toBe('imports = [\n  "/a",\n]');
    expect(removeImport('imports = ["/x"]', '/x')).toBe('imports = []');
  });
});

describe('the scanner on text that is not TOML', () => {
  it('always terminates (the validator rebases imports of files containerd will then reject)', () => {
    for (const text of [
      'imports = [}',
      'imports = [ "a" } ]',
      '[[[',
      '= = =',
      'a = "unterminated',
      "k = '''",
      'x = [1, ]]',
      '{',
    ]) {
      expect(() => scanToml(text)).not.toThrow();
      const kv = scanToml(text).keyValues[0];
      if (kv !== undefined && text[kv.valueStart] === '[') scanArray(text, kv.valueStart, kv.valueEnd);
    }
  });
});
