import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hostRootOf, privateCacheDir } from '../../src/cli/compile-cache.js';

const uid = process.getuid?.() ?? 0;
const NOBODY = 65534;

describe('the compile cache lives only in the node dir kata-deploy owns, writable by no other user', () => {
  let root: string;
  const parent = () => path.join(root, 'run/kata-deploy');
  const planted = () => path.join(parent(), `compile-cache-${uid}`);
  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'kata-compile-cache-'));
    mkdirSync(parent(), { recursive: true, mode: 0o755 });
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('creates its own dir beside the lock, mode 0700, and reuses it on the next run', () => {
    const dir = privateCacheDir(root, uid);
    expect(dir).toBe(planted());
    expect(lstatSync(planted()).mode & 0o777).toBe(0o700);
    expect(privateCacheDir(root, uid)).toBe(dir);
  });

  it('makes nothing on a node where no run made /run/kata-deploy yet', () => {
    rmSync(parent(), { recursive: true });
    expect(privateCacheDir(root, uid)).toBeUndefined();
    expect(lstatSync(parent(), { throwIfNoEntry: false })).toBeUndefined();
  });

  it('refuses a /run/kata-deploy others can write', () => {
    chmodSync(parent(), 0o777);
    expect(privateCacheDir(root, uid)).toBeUndefined();
  });

  it('refuses a dir someone made first with group or other access', () => {
    mkdirSync(planted(), { mode: 0o700 });
    chmodSync(planted(), 0o750);
    expect(privateCacheDir(root, uid)).toBeUndefined();
  });

  it('refuses a symlink planted in its place', () => {
    mkdirSync(path.join(root, 'elsewhere'), { mode: 0o700 });
    symlinkSync(path.join(root, 'elsewhere'), planted());
    expect(privateCacheDir(root, uid)).toBeUndefined();
  });

  it.runIf(uid === 0)('refuses a dir another user owns, even with mode 0700', () => {
    mkdirSync(planted(), { mode: 0o700 });
    chownSync(planted(), NOBODY, NOBODY);
    expect(privateCacheDir(root, uid)).toBeUndefined();
  });

  it('gives up without a user id (no cache rather than a shared one)', () => {
    expect(privateCacheDir(root, undefined)).toBeUndefined();
  });
});

describe('the cache follows the host root the run will lock', () => {
  it('takes --host-root in either spelling before HOST_ROOT, and / without either', () => {
    expect(hostRootOf(['install', '--host-root', '/node'], { HOST_ROOT: '/host' })).toBe('/node');
    expect(hostRootOf(['install', '--host-root=/node'], { HOST_ROOT: '/host' })).toBe('/node');
    expect(hostRootOf(['install'], { HOST_ROOT: '/host' })).toBe('/host');
    expect(hostRootOf(['install'], {})).toBe('/');
  });
});

describe('the CLI keeps a compile cache only when asked to', () => {
  const CLI = path.resolve(import.meta.dirname, '../../dist/cli/main.js');
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), 'kata-compile-cache-cli-'));
    mkdirSync(path.join(root, 'run/kata-deploy'), { recursive: true, mode: 0o755 });
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));
  const runVersion = (env: NodeJS.ProcessEnv) => {
    const clean = { ...process.env };
    delete clean.NODE_COMPILE_CACHE;
    delete clean.NODE_DISABLE_COMPILE_CACHE;
    execFileSync(process.execPath, [CLI, '--version', '--host-root', root], { env: { ...clean, ...env } });
    return readdirSync(path.join(root, 'run/kata-deploy'));
  };

  it('leaves /run/kata-deploy as it was by default', () => {
    expect(runVersion({})).toEqual([]);
  });

  it('fills its own dir there with KATA_DEPLOY_COMPILE_CACHE=1, unless NODE_DISABLE_COMPILE_CACHE is set', () => {
    expect(runVersion({ KATA_DEPLOY_COMPILE_CACHE: '1', NODE_DISABLE_COMPILE_CACHE: '1' })).toEqual([]);
    expect(runVersion({ KATA_DEPLOY_COMPILE_CACHE: '1' })).toEqual([`compile-cache-${uid}`]);
    expect(readdirSync(path.join(root, 'run/kata-deploy', `compile-cache-${uid}`)).length).toBeGreaterThan(0);
  });
});
