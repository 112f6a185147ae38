import { chmod, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { planRuntimeConfig } from '../../src/containerd/config/plan.js';
import { readRuntimeConfigInputs } from '../../src/containerd/config/reads.js';
import { KataDeployError } from '../../src/core/errors.js';
import { NodeHostFs } from '../../src/host/node-host-fs.js';
import { makeTempRoot, type TempRoot } from '../helpers/temp-root.js';
import { request, semver } from './fixtures.js';

const CONFIG = '/etc/containerd/config.toml';

function refusal(fn: () => unknown): KataDeployError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(KataDeployError);
    expect((error as KataDeployError).code).toBe('config-refused');
    expect((error as KataDeployError).exitCode).toBe(5);
    return error as KataDeployError;
  }
  throw new Error('expected a refusal');
}

const CASES: [string, string, string, RegExp][] = [
  ['invalid TOML', '1.7.24', 'version = 2\n[plugins\n', /config\.toml is not valid TOML at line 2/],
  ['a duplicate key', '1.7.24', 'version = 2\n[grpc]\naddress = "a"\naddress = "b"\n', /not valid TOML at line 4/],
  ['a table defined twice', '1.7.24', '[grpc]\n[debug]\n[grpc]\n', /not valid TOML at line 3/],
  ['an unknown version', '1.7.24', 'version = 5\n', /unknown containerd config version 5 \(field "version"\)/],
  ['a version written as a string', '1.7.24', 'version = "2"\n', /unknown containerd config version "2"/],
  ['a fractional version', '2.1.4', 'version = 2.5\n', /unknown containerd config version 2\.5/],
  [
    'a v3 file on containerd 1.6, which would silently ignore it',
    '1.6.20',
    'version = 3\n',
    /containerd 1\.6 reads config version 2 at most; it silently ignores/,
  ],
  [
    'a v4 file on containerd 2.1, which rejects it',
    '2.1.4',
    'version = 4\n',
    /containerd 2\.1 reads config version 3 at most and refuses/,
  ],
  [
    'imports that is not a list',
    '2.1.4',
    'version = 3\nimports = "/etc/containerd/conf.d/*.toml"\n',
    /field "imports" must be a list of file paths/,
  ],
  [
    'imports holding a number',
    '1.7.24',
    'version = 2\nimports = [1]\n',
    /field "imports" must be a list of file paths, found \[1\]/,
  ],
  [
    'a runtimes map written as an inline table',
    '1.7.24',
    'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd]\nruntimes = { runc = { runtime_type = ' +
      '"io.containerd.runc.v2" } }\n',
    /would make the file invalid TOML \(is a parent table written inline/,
  ],
];

describe('a config we must not touch', () => {
  it.each(CASES)('is refused with exit 5 on %s, naming the file and the spot', (_name, daemon, text, message) => {
    const error = refusal(() =>
      planRuntimeConfig(request({ daemonVersion: semver(daemon) }), new Map([[CONFIG, Buffer.from(text)]]), undefined),
    );
    expect(error.message).toMatch(message);
    expect(error.message).toContain(CONFIG);
    expect(error.hint).toBeTruthy();
  });

  it('is refused when it is not valid UTF-8', () => {
    const error = refusal(() =>
      planRuntimeConfig(request(), new Map([[CONFIG, Buffer.from([0x76, 0x3d, 0xff, 0x0a])]]), undefined),
    );
    expect(error.message).toMatch(/not valid UTF-8/);
  });
});

describe('a config holding kata-deploy tables whose record is lost', () => {
  it('is refused with a hint that names the earlier install rather than someone else', () => {
    const first = planRuntimeConfig(request(), new Map([[CONFIG, Buffer.from('version = 2\n')]]), undefined);
    const installed = first.changes[0]?.after ?? Buffer.alloc(0);
    const error = refusal(() => planRuntimeConfig(request(), new Map([[CONFIG, installed]]), undefined));
    expect(error.hint).toMatch(/earlier kata-deploy install whose record/);
  });
});

describe('reading a config that is a symlink or read-only', () => {
  let root: TempRoot | undefined;
  afterEach(async () => {
    await root?.cleanup();
    root = undefined;
  });

  it('refuses a symlinked config and leaves both the link and its target as they were', async () => {
    root = await makeTempRoot({ '/srv/real.toml': 'version = 2\n', [CONFIG]: { symlink: '/srv/real.toml' } });
    await expect(readRuntimeConfigInputs(new NodeHostFs(root.root), request())).rejects.toMatchObject({
      code: 'config-refused',
      message: expect.stringMatching(/config\.toml is a symbolic link \(to \/srv\/real\.toml\)/),
    });
    expect(await readFile(path.join(root.root, '/srv/real.toml'), 'utf8')).toBe('version = 2\n');
  });

  it('refuses a read-only config (managed by another tool) and leaves it unchanged', async () => {
    root = await makeTempRoot({ [CONFIG]: 'version = 2\n' });
    await chmod(path.join(root.root, CONFIG), 0o444);
    await expect(readRuntimeConfigInputs(new NodeHostFs(root.root), request())).rejects.toMatchObject({
      code: 'config-refused',
      message: expect.stringMatching(/is read-only \(mode 444\)/),
    });
    expect(await readFile(path.join(root.root, CONFIG), 'utf8')).toBe('version = 2\n');
  });
});
