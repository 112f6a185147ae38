import type { TomlLayout } from '../../src/containerd/config/toml-lexer.js';

/** Documents whose every span the lexer tests pin, as the text each span covers. */
export const DOCS = [
  'version = 2\n  [plugins."io.containerd.grpc.v1.cri"]\n    sandbox_image = \'pause\' # c\n\t[ a . b ]   # t\n' +
    '  x=1\n[[ arr ]]\ny = 1979-05-27 07:32:00\nz = 1979-05-27 # d\nw = """a\nb"""\nv = \'\'\'x\'\'\'\n',
  '\uFEFF\r\n# top\r\n"quoted.key".bare = "v\\\\"\r\n\'lit\' = 1.5\r\n[t]\r\nk = { a = 1, b = [2] }\r\nl = [ 1, 2 , ]',
  'a = "x\\"y" \nb = \'c\\\'\n[x]',
  '[a]\n[a.b]\n\n[[c]]\n[[c]]\nk = "v"',
  'a=1\n\n\t\n  # c1\n[t] # [not.a.table]\nb = "[x]"  \n',
  'a\t=\t1\nb\t.\tc = 2\n',
  'only = "keys"\n',
];

/** Array values: each element's text and the text up to its comma. */
export const ARRAYS = [
  '[ "a", \'b\' , [1, [2]], {x = "]"}, # c ]\n 3 ]',
  '[]',
  '[ # only a comment\n]',
  '["x",]',
  '[ {a = \']\'}, "x" ]',
  '[ , 1 ]',
  '[ } ]',
];

/** String literals followed by more text: what skipString takes. */
export const STRINGS = [
  '"a\\"b" rest',
  "'a\\' rest",
  '"""a""b""" rest',
  '"""a"""" rest',
  '"""a""""" rest',
  "'''a''''' rest",
  '"unterminated',
  '"a\\\\" rest',
  '"""a"""""" rest',
];

/** Values followed by more text: what skipValue takes. */
export const VALUES = [
  '123 # c',
  'true,x',
  '1979-05-27 07:32:00 # c',
  '1979-05-27T07:32:00Z]',
  '1979-05-27 x',
  '2024-01-01',
  '[1, "]", 2] tail',
  '{ a = { b = 1 } } tail',
  '"s" tail',
  '12}',
  'x1979-05-27 07:32:00',
  '1979-05-27x 07:32',
  '1979-05-27\t07:32:00',
  '12 34',
  '[1, # c',
];

/** A layout as the text each span covers, so a shifted offset shows as a different slice. */
export function view(layout: TomlLayout, text: string): unknown {
  return {
    bodyStart: layout.bodyStart,
    tables: layout.tables.map((table) => [table.kind, table.path.join('|'), text.slice(table.start, table.end)]),
    keyValues: layout.keyValues.map((kv) => [
      kv.table.join('|'),
      kv.key.join('|'),
      text.slice(kv.lineStart, kv.lineEnd),
      text.slice(kv.valueStart, kv.valueEnd),
    ]),
  };
}
