import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { samplePayload } from '../helpers/sample-payload.js';
import { makeTempRoot, type TempRoot } from '../helpers/temp-root.js';
import { snapshotTree } from '../helpers/tree-snapshot.js';

const root = path.join(import.meta.dirname, '..', '..');
let dir: string;
/** The machine's own Node when it is older than the CLI needs (20 on these hosts), else undefined. */
const olderSystemNode = ((): string | undefined => {
  if (!existsSync('/usr/bin/node')) return undefined;
  const version = spawnSync('/usr/bin/node', ['--version'], { encoding: 'utf8' }).stdout.trim();
  return Number.parseInt(version.slice(1), 10) < 24 ? version : undefined;
})();

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'kata-deploy-bundle-'));
  execFileSync(process.execPath, [path.join(root, 'scripts/bundle.mjs'), path.join(dir, 'out')], { stdio: 'pipe' });
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('single-file CLI bundle', () => {
  it('runs detect --json from a directory without the project or its node_modules', () => {
    const stdout = execFileSync(process.execPath, [path.join(dir, 'out', 'kata-deploy.mjs'), 'detect', '--json'], {
      cwd: dir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const report = JSON.parse(stdout) as { arch: string; shims: unknown[]; runtime: { flavour: string } };
    expect(report.arch).toMatch(/^(x86_64|aarch64|ppc64le|s390x)$/);
    expect(report.shims.length).toBeGreaterThan(0);
    expect(typeof report.runtime.flavour).toBe('string');
  });

  it("prints package.json's version for --version and -V (inlined: no package.json beside the bundle)", () => {
    const { version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const stdout = execFileSync(process.execPath, [path.join(dir, 'out', 'kata-deploy.mjs'), flag], {
        cwd: dir,
        encoding: 'utf8',
      });
      expect(stdout).toBe(`${version}\n`);
    }
  });

  it.skipIf(olderSystemNode === undefined)(
    `refuses the system Node (${olderSystemNode}) in one line with exit 2, before loading anything`,
    () => {
      const run = spawnSync('/usr/bin/node', [path.join(dir, 'out', 'kata-deploy.mjs'), 'detect'], {
        encoding: 'utf8',
      });
      expect(run.status, run.stderr).toBe(2);
      expect(run.stderr).toMatch(
        new RegExp(
          `^kata-deploy: needs Node\\.js 24 or newer, this is ${olderSystemNode}: .*dist/standalone/kata-deploy.*\\n$`,
        ),
      );
    },
  );

  it('rejects an unknown command with the usage exit status', () => {
    let status = 0;
    try {
      execFileSync(process.execPath, [path.join(dir, 'out', 'kata-deploy.mjs'), 'no-such-command'], {
        cwd: dir,
        stdio: 'pipe',
      });
    } catch (error) {
      status = (error as { status: number }).status;
    }
    expect(status).toBe(2);
  });
});

describe('what an install without a node name loads from the bundle', () => {
  const LOAD_TRACE = [
    "import { registerHooks } from 'node:module';",
    'registerHooks({ load(url, context, next) {',
    "  process.stderr.write('LOADED ' + url + '\\n');",
    '  return next(url, context);',
    '} });',
  ].join('\n');
  let host: TempRoot;
  beforeAll(async () => {
    host = await makeTempRoot({
      '/etc/containerd/config.toml':
        'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n' +
        '  runtime_type = "io.containerd.runc.v2"\n',
    });
  });
  afterAll(async () => host?.cleanup());

  it('is a few of the chunks: no Kubernetes client, no download code, under 1 MB of source', () => {
    const run = spawnSync(
      process.execPath,
      [
        `--import=data:text/javascript,${encodeURIComponent(LOAD_TRACE)}`,
        path.join(dir, 'out', 'kata-deploy.mjs'),
        'install',
        ...['--host-root', host.root, '--shims', 'qemu', '--restart', 'none', '--payload', samplePayload()],
      ],
      {
        cwd: dir,
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '', LOG_FORMAT: 'json', KATA_REQUIRE_KVM: 'false' },
      },
    );
    expect(run.status, run.stderr).toBe(0);
    const loaded = run.stderr
      .split('\n')
      .filter((line) => line.startsWith('LOADED file:'))
      .map((line) => new URL(line.slice('LOADED '.length)).pathname);
    const all = readdirSync(path.join(dir, 'out')).filter((name) => name.endsWith('.mjs'));
    expect(loaded.length).toBeGreaterThan(2);
    expect(loaded.length).toBeLessThan(all.length);
    const sources = loaded.map((file) => readFileSync(file, 'utf8'));
    // Class names survive minifying (keepNames): the client's CoreV1Api, node-fetch's Response.
    expect(sources.filter((source) => source.includes('CoreV1Api'))).toEqual([]);
    expect(sources.filter((source) => source.includes('HttpsProxyAgent'))).toEqual([]);
    expect(sources.reduce((sum, source) => sum + source.length, 0)).toBeLessThan(1_000_000);
    const everything = all.map((name) => readFileSync(path.join(dir, 'out', name), 'utf8'));
    expect(everything.some((source) => source.includes('CoreV1Api'))).toBe(true);
    expect(everything.some((source) => source.includes('HttpsProxyAgent'))).toBe(true);
  });
});

describe("the bundle on a node without koffi's native module (none is published for s390x)", () => {
  let bare: string;
  let host: TempRoot;
  const CONFIG =
    'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n' +
    '  runtime_type = "io.containerd.runc.v2"\n';

  beforeAll(async () => {
    bare = path.join(dir, 'bare');
    cpSync(path.join(dir, 'out'), bare, { recursive: true });
    rmSync(path.join(bare, 'node_modules', '@koromix'), { recursive: true, force: true });
    host = await makeTempRoot({ '/etc/containerd/config.toml': CONFIG });
  });
  afterAll(async () => host?.cleanup());

  function run(args: string[]): { status: number; stdout: string; stderr: string } {
    const result = spawnSync(process.execPath, [path.join(bare, 'kata-deploy.mjs'), ...args], {
      cwd: dir,
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', LOG_FORMAT: 'json', KATA_REQUIRE_KVM: 'false' },
    });
    return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
  }

  it('detects, saying why KVM cannot be proven', () => {
    const detect = run(['detect', '--json']);
    expect(detect.status, detect.stderr).toBe(0);
    const report = JSON.parse(detect.stdout) as { kvm: { usable: boolean; reason?: string } };
    expect(report.kvm.usable).toBe(false);
    expect(report.kvm.reason).toMatch(/FFI/);
  });

  it('installs, reinstalls a changed payload (switching trees without renameat2) and uninstalls exactly', async () => {
    const before = await snapshotTree(host.root);
    const common = ['--host-root', host.root, '--shims', 'qemu clh', '--restart', 'none'];
    const first = run(['install', ...common, '--payload', samplePayload()]);
    expect(first.status, first.stderr).toBe(0);
    expect(readFileSync(path.join(host.root, 'etc/containerd/config.toml'), 'utf8')).toContain('kata-qemu');
    const other = samplePayload('sample-other', ['--files', '12']);
    const second = run(['install', ...common, '--payload', other, '--json']);
    expect(second.status, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout).payload.changed).toBe(true);
    const removed = run(['uninstall', ...common]);
    expect(removed.status, removed.stderr).toBe(0);
    const after = await snapshotTree(host.root);
    delete after['run/kata-deploy/lock'];
    delete after['run/kata-deploy'];
    delete after.run;
    expect(after).toEqual(before);
  });
});

describe("the bundle's compile cache (compile-cache/, made by scripts/bundle.mjs)", () => {
  const { NODE_OPTIONS: _flags, ...plainEnv } = process.env;
  const traced = { ...plainEnv, NODE_DEBUG_NATIVE: 'COMPILE_CACHE' };
  let moved: string;
  beforeAll(() => {
    moved = path.join(dir, 'moved-elsewhere');
    cpSync(path.join(dir, 'out'), moved, { recursive: true });
  });

  it('is taken by the Node that made it from a copy anywhere, and a run writes nothing into it', async () => {
    const cache = path.join(moved, 'compile-cache');
    const before = await snapshotTree(cache, { times: true });
    const run = spawnSync(process.execPath, [path.join(moved, 'kata-deploy.mjs'), 'detect', '--json'], {
      encoding: 'utf8',
      env: traced,
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toMatch(
      /V8 code cache for ESM file:\/\/\S*\/moved-elsewhere\/kata-deploy-cli\.mjs was accepted/,
    );
    expect(run.stderr).toMatch(/V8 code cache for ESM \S*\/node_modules\/koffi\/index\.js was accepted/);
    expect(run.stderr).not.toMatch(/writing cache|was rejected|not initialized/);
    expect(await snapshotTree(cache, { times: true })).toEqual(before);
  });

  it.each([
    ['with V8 flags (the supervisor runs --lite-mode)', ['--lite-mode'], undefined],
    ['by a Node other than the one that made it', [], 'v24.0.0 x64\n'],
  ])('is left alone %s', async (_case, flags, stamp) => {
    const copy = mkdtempSync(path.join(dir, 'copy-'));
    cpSync(path.join(dir, 'out'), copy, { recursive: true });
    if (stamp !== undefined) writeFileSync(path.join(copy, 'compile-cache', 'made-by'), stamp);
    const before = await snapshotTree(path.join(copy, 'compile-cache'), { times: true });
    const run = spawnSync(process.execPath, [...flags, path.join(copy, 'kata-deploy.mjs'), '--version'], {
      encoding: 'utf8',
      env: traced,
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).not.toMatch(/\[compile cache\]/);
    expect(await snapshotTree(path.join(copy, 'compile-cache'), { times: true })).toEqual(before);
  });
});
