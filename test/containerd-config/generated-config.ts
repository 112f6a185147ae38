import fc from 'fast-check';

/**
 * Random but valid containerd configs in the shapes operators write: BOM, CRLF, comments and blank lines
 * anywhere, three quoting styles, dotted keys, inline tables, sub-tables before their parents, existing
 * imports, trailing blank lines or no final newline.
 */
export interface GeneratedConfig {
  readonly text: string;
  readonly version: 1 | 2 | 3;
}

const spaces = fc.constantFrom('', ' ', '  ', '\t');
const commentLine = fc.constantFrom(
  '# a comment',
  '#',
  '# [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.kata-qemu]',
  '   # runtimes.kata = "x"',
  '#imports = ["/x"]',
);
const filler = fc.array(fc.oneof(commentLine, fc.constant('')), { maxLength: 3 });
const stringValue = fc.constantFrom(
  '"overlayfs"',
  "'overlayfs'",
  '"over\\"lay"',
  "'''over\nlay'''",
  '"""\nover\\\n  lay"""',
);
const scalar = fc.constantFrom('1', '1.0', '0.02', 'true', '-999', '"5s"', '1979-05-27T07:32:00Z', '0x10', '1_000');
const arrayValue = fc.constantFrom('[]', '["a", "b"]', '[\n  "a", # c\n  "b",\n]', "['x']", '[ [1, 2], ["n"] ]');
const inlineTable = fc.constantFrom('{ a = 1, "b.c" = "d" }', '{}', "{ x = { y = 'z' } }");
const anyValue = fc.oneof(stringValue, scalar, arrayValue, inlineTable);

function quoted(key: string): fc.Arbitrary<string> {
  return /^[A-Za-z0-9_-]+$/.test(key)
    ? fc.constantFrom(key, `"${key}"`, `'${key}'`)
    : fc.constantFrom(`"${key}"`, `'${key}'`);
}

function keyPath(path: readonly string[]): fc.Arbitrary<string> {
  return fc.tuple(fc.tuple(...path.map(quoted)), fc.constantFrom('.', ' . ')).map(([parts, dot]) => parts.join(dot));
}

function header(path: readonly string[]): fc.Arbitrary<string> {
  return fc
    .tuple(keyPath(path), fc.constantFrom('', ' '), fc.constantFrom('', '  # header comment'))
    .map(([key, pad, comment]) => `[${pad}${key}${pad}]${comment}`);
}

function keyLine(key: fc.Arbitrary<string>, value: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc
    .tuple(fc.constantFrom('', '  ', '\t'), key, spaces, spaces, value, fc.constantFrom('', ' # trailing'))
    .map(([indent, k, a, b, v, c]) => `${indent}${k}${a}=${b}${v}${c}`);
}

function section(path: readonly string[] | undefined, lines: fc.Arbitrary<string[]>): fc.Arbitrary<string[]> {
  return fc
    .tuple(path === undefined ? fc.constant(undefined) : header(path), lines, filler)
    .map(([head, body, extra]) => [
      ...(head === undefined ? [] : [head]),
      ...body.flatMap((line, i) => (i === 0 ? [line] : [...extra.slice(0, 1), line])),
    ]);
}

const CRI_ID: Record<1 | 2 | 3, string> = {
  1: 'cri',
  2: 'io.containerd.grpc.v1.cri',
  3: 'io.containerd.cri.v1.runtime',
};

export function generatedConfig(
  versions: readonly (1 | 2 | 3)[],
  options: { bom?: boolean } = {},
): fc.Arbitrary<GeneratedConfig> {
  return fc.constantFrom(...versions).chain((version) => {
    const cri = ['plugins', CRI_ID[version]];
    const rootLines = fc
      .tuple(
        fc.boolean(),
        fc.option(
          fc.constantFrom(
            'imports = []',
            'imports = ["/etc/containerd/extra/*.toml"]',
            "imports = [\n  '/etc/containerd/a.toml', # first\n]",
            'imports = ["/etc/containerd/conf.d/*.conf",]',
          ),
          { nil: undefined },
        ),
        fc.option(
          keyLine(fc.constantFrom('oom_score', "'oom_score'"), fc.constantFrom('0', '-999', '1_000', '0x10', '+5')),
          { nil: undefined },
        ),
        fc.option(keyLine(fc.constantFrom('root', '"root"'), stringValue), { nil: undefined }),
        // containerd ignores keys it does not know, so any TOML value shape can be exercised here.
        fc.array(keyLine(fc.constantFrom('x_extra', '"x.extra"', "'x-other'"), anyValue), { maxLength: 2 }),
      )
      .map(([withVersion, imports, oom, root, others]) => [
        ...(version !== 1 || withVersion ? [`version = ${version === 1 ? 1 : version}`] : []),
        ...(imports === undefined ? [] : [imports]),
        ...(oom === undefined ? [] : [oom]),
        ...(root === undefined ? [] : [root]),
        ...others.filter(
          (line, i, all) =>
            all.findIndex(
              (other) =>
                other.trim().split(/\s|=/)[0]?.replace(/"|'/g, '') ===
                line.trim().split(/\s|=/)[0]?.replace(/"|'/g, ''),
            ) === i,
        ),
      ]);
    const dottedContainerd = fc.boolean();
    return fc
      .tuple(
        rootLines,
        dottedContainerd,
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        fc.integer({ min: 0, max: 1000 }),
      )
      .chain(([root, dotted, withRunc, inlineOptions, withPlugins, withGrpc, seed]) => {
        const sections: fc.Arbitrary<string[]>[] = [
          section(
            cri,
            fc
              .tuple(
                keyLine(fc.constant('sandbox_image'), stringValue),
                // A table defined by dotted keys may still get new sub-tables by header (TOML 1.0), which our
                // appended runtimes are; it may not be re-opened, so runc headers are left out in that shape.
                dotted && !withRunc
                  ? keyLine(keyPath(['containerd', 'snapshotter']), stringValue)
                  : keyLine(keyPath(['registry', 'config_path']), stringValue),
              )
              .map((lines) => [...lines]),
          ),
        ];
        if (!dotted || withRunc)
          sections.push(
            section(
              [...cri, 'containerd'],
              fc.array(keyLine(fc.constantFrom('default_runtime_name'), fc.constant('"runc"')), { maxLength: 1 }),
            ),
          );
        if (withRunc) {
          sections.push(
            section(
              [...cri, 'containerd', 'runtimes', 'runc'],
              fc
                .tuple(
                  keyLine(fc.constant('runtime_type'), fc.constant('"io.containerd.runc.v2"')),
                  ...(inlineOptions
                    ? [
                        keyLine(
                          fc.constant('options'),
                          fc.constant('{ SystemdCgroup = true, BinaryName = "/usr/bin/runc" }'),
                        ),
                      ]
                    : []),
                )
                .map((lines) => [...lines]),
            ),
          );
          if (!inlineOptions)
            sections.push(
              section(
                [...cri, 'containerd', 'runtimes', 'runc', 'options'],
                fc.tuple(keyLine(fc.constant('SystemdCgroup'), fc.constant('false'))).map((l) => [...l]),
              ),
            );
        }
        if (withPlugins) sections.push(section(['plugins'], fc.constant([])));
        if (withGrpc)
          sections.push(
            section(
              ['grpc'],
              fc
                .tuple(
                  keyLine(fc.constant('address'), stringValue),
                  keyLine(fc.constant('max_recv_message_size'), fc.constantFrom('16777216', '0x1000000', '16_777_216')),
                )
                .map((l) => [...l]),
            ),
          );
        return fc
          .tuple(fc.tuple(...sections), fc.shuffledSubarray([0], { minLength: 0 }), filler)
          .map(([bodies, , lead]) => {
            const order = [...bodies.keys()].sort((a, b) => ((a * 7919 + seed) % 13) - ((b * 7919 + seed) % 13));
            return [...lead, ...root, '', ...order.flatMap((i) => [...(bodies[i] ?? []), ''])];
          });
      })
      .chain((lines) =>
        fc.tuple(
          fc.constant(lines),
          options.bom === false ? fc.constant(false) : fc.boolean(),
          fc.constantFrom('\n', '\r\n'),
          fc.constantFrom('', '\n', '\n\n\n', 'none'),
        ),
      )
      .map(([lines, bom, eol, tail]) => {
        const body = lines.join('\n').replace(/\n/g, eol);
        const ending = tail === 'none' ? '' : eol + tail.replace(/\n/g, eol);
        return { text: `${bom ? '\uFEFF' : ''}${body}${ending}`, version };
      });
  });
}
