import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { privateCacheDir } from '../../src/cli/compile-cache.js';

const uid = process.getuid?.() ?? 0;
const NOBODY = 65534;

describe('the compile cache lives only in a temp dir no other user can write', () => {
  let tmp: string;
  const planted = () => path.join(tmp, `kata-deploy-compile-cache-${uid}`);
  beforeEach(() => {
    tmp = mkdtempSync(path.join(tmpdir(), 'kata-compile-cache-'));
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it('creates its own dir, mode 0700, and reuses it on the next run', () => {
    const dir = privateCacheDir(tmp, uid);
    expect(dir).toBe(planted());
    expect(lstatSync(planted()).mode & 0o777).toBe(0o700);
    expect(privateCacheDir(tmp, uid)).toBe(dir);
  });

  it('refuses a dir someone made first with group or other access', () => {
    mkdirSync(planted(), { mode: 0o700 });
    chmodSync(planted(), 0o777);
    expect(privateCacheDir(tmp, uid)).toBeUndefined();
  });

  it('refuses a symlink planted in its place', () => {
    mkdirSync(path.join(tmp, 'elsewhere'), { mode: 0o700 });
    symlinkSync(path.join(tmp, 'elsewhere'), planted());
    expect(privateCacheDir(tmp, uid)).toBeUndefined();
  });

  it.runIf(uid === 0)('refuses a dir another user owns, even with mode 0700', () => {
    mkdirSync(planted(), { mode: 0o700 });
    chownSync(planted(), NOBODY, NOBODY);
    expect(privateCacheDir(tmp, uid)).toBeUndefined();
  });

  it('gives up without a user id (no cache rather than a shared one)', () => {
    expect(privateCacheDir(tmp, undefined)).toBeUndefined();
  });
});
