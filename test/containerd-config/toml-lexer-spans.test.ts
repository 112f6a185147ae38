import { describe, expect, it } from 'vitest';
import { decodeString, scanArray, scanToml, skipString, skipValue } from '../../src/containerd/config/toml-lexer.js';
import { ARRAYS, DOCS, STRINGS, VALUES, view } from './toml-lexer-cases.js';

// Every span as the text it covers: reviewed by hand once, pinned here so any shifted offset fails.
describe('the TOML span scanner, span by span', () => {
  it.each(DOCS.map((text, i) => [i, text, EXPECTED.docs[i]] as const))('document %i', (_i, text, expected) => {
    expect(view(scanToml(text), text)).toEqual(expected);
  });

  it.each(ARRAYS.map((text, i) => [text, EXPECTED.arrays[i]] as const))('array %j', (text, expected) => {
    const elements = scanArray(text, 0, text.length).map((element) => [
      text.slice(element.start, element.end),
      element.commaAt === undefined ? null : text.slice(0, element.commaAt + 1),
    ]);
    expect(elements).toEqual(expected);
  });

  it.each(STRINGS.map((text, i) => [text, EXPECTED.strings[i]] as const))('string %j', (text, expected) => {
    expect(text.slice(0, skipString(text, 0))).toBe(expected);
  });

  it.each(VALUES.map((text, i) => [text, EXPECTED.values[i]] as const))('value %j', (text, expected) => {
    expect(text.slice(0, skipValue(text, 0))).toBe(expected);
  });
});

describe('decodeString', () => {
  it.each([
    ['"\\e[0m"', '\u001b[0m'],
    ['"\\U00000041\\U000000e9"', 'Aé'],
    ['"\\u0041"', 'A'],
    ["'it\"s'", 'it"s'],
  ])('decodes %s', (token, decoded) => {
    expect(decodeString(token)).toBe(decoded);
  });
});

const EXPECTED = {
  docs: [
    {
      bodyStart: 0,
      tables: [
        [
          'table',
          'plugins|io.containerd.grpc.v1.cri',
          '  [plugins."io.containerd.grpc.v1.cri"]\n    sandbox_image = \'pause\' # c\n',
        ],
        ['table', 'a|b', '\t[ a . b ]   # t\n  x=1\n'],
        ['array', 'arr', '[[ arr ]]\ny = 1979-05-27 07:32:00\nz = 1979-05-27 # d\nw = """a\nb"""\nv = \'\'\'x\'\'\'\n'],
      ],
      keyValues: [
        ['', 'version', 'version = 2\n', '2'],
        ['plugins|io.containerd.grpc.v1.cri', 'sandbox_image', "    sandbox_image = 'pause' # c\n", "'pause'"],
        ['a|b', 'x', '  x=1\n', '1'],
        ['arr', 'y', 'y = 1979-05-27 07:32:00\n', '1979-05-27 07:32:00'],
        ['arr', 'z', 'z = 1979-05-27 # d\n', '1979-05-27'],
        ['arr', 'w', 'w = """a\nb"""\n', '"""a\nb"""'],
        ['arr', 'v', "v = '''x'''\n", "'''x'''"],
      ],
    },
    {
      bodyStart: 1,
      tables: [['table', 't', '[t]\r\nk = { a = 1, b = [2] }\r\nl = [ 1, 2 , ]']],
      keyValues: [
        ['', 'quoted.key|bare', '"quoted.key".bare = "v\\\\"\r\n', '"v\\\\"'],
        ['', 'lit', "'lit' = 1.5\r\n", '1.5'],
        ['t', 'k', 'k = { a = 1, b = [2] }\r\n', '{ a = 1, b = [2] }'],
        ['t', 'l', 'l = [ 1, 2 , ]', '[ 1, 2 , ]'],
      ],
    },
    {
      bodyStart: 0,
      tables: [['table', 'x', '[x]']],
      keyValues: [
        ['', 'a', 'a = "x\\"y" \n', '"x\\"y"'],
        ['', 'b', "b = 'c\\'\n", "'c\\'"],
      ],
    },
    {
      bodyStart: 0,
      tables: [
        ['table', 'a', '[a]\n'],
        ['table', 'a|b', '[a.b]\n\n'],
        ['array', 'c', '[[c]]\n'],
        ['array', 'c', '[[c]]\nk = "v"'],
      ],
      keyValues: [['c', 'k', 'k = "v"', '"v"']],
    },
    {
      bodyStart: 0,
      tables: [['table', 't', '[t] # [not.a.table]\nb = "[x]"  \n']],
      keyValues: [
        ['', 'a', 'a=1\n', '1'],
        ['t', 'b', 'b = "[x]"  \n', '"[x]"'],
      ],
    },
    {
      bodyStart: 0,
      tables: [],
      keyValues: [
        ['', 'a', 'a\t=\t1\n', '1'],
        ['', 'b|c', 'b\t.\tc = 2\n', '2'],
      ],
    },
    { bodyStart: 0, tables: [], keyValues: [['', 'only', 'only = "keys"\n', '"keys"']] },
  ],
  arrays: [
    [
      ['"a"', '[ "a",'],
      ["'b'", '[ "a", \'b\' ,'],
      ['[1, [2]]', '[ "a", \'b\' , [1, [2]],'],
      ['{x = "]"}', '[ "a", \'b\' , [1, [2]], {x = "]"},'],
      ['3', null],
    ],
    [],
    [],
    [['"x"', '["x",']],
    [
      ["{a = ']'}", "[ {a = ']'},"],
      ['"x"', null],
    ],
    [['1', null]],
    [['}', null]],
  ],
  strings: [
    '"a\\"b"',
    "'a\\'",
    '"""a""b"""',
    '"""a""""',
    '"""a"""""',
    "'''a'''''",
    '"unterminated',
    '"a\\\\"',
    '"""a"""""',
  ],
  values: [
    '123',
    'true',
    '1979-05-27 07:32:00',
    '1979-05-27T07:32:00Z',
    '1979-05-27',
    '2024-01-01',
    '[1, "]", 2]',
    '{ a = { b = 1 } }',
    '"s"',
    '12',
    'x1979-05-27',
    '1979-05-27x',
    '1979-05-27',
    '12',
    '[1, # c',
  ],
};
