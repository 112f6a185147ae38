import { describe, expect, it } from 'vitest';
import { KataDeployError } from '../../src/core/errors.js';
import {
  DEFAULT_LIMITS,
  judgeEntry,
  type PayloadLimits,
  relativeToInstallDir,
} from '../../src/payload/entry-policy.js';
import type { TarEntry } from '../../src/payload/tar-parser.js';

const LIMITS: PayloadLimits = { maxEntries: 10, maxTotalBytes: 1000, maxFileBytes: 100 };

function entry(overrides: Partial<TarEntry>): TarEntry {
  return {
    name: 'opt/kata/bin/containerd-shim-kata-v2',
    linkName: '',
    mode: 0o755,
    size: 10,
    mtime: 1_700_000_000,
    kind: 'file',
    typeflag: '0',
    ...overrides,
  };
}

/** The refusal's message (always exit 4, "bad-payload"). */
function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(KataDeployError);
    expect((error as KataDeployError).code).toBe('bad-payload');
    expect((error as KataDeployError).hint).toBe('use an unmodified kata-static release tarball');
    return (error as KataDeployError).message;
  }
  throw new Error('expected a refusal');
}

describe('relativeToInstallDir', () => {
  it.each([
    ['opt/kata/bin/x', 'bin/x'],
    ['./opt/kata/bin/x', 'bin/x'],
    ['opt//kata/./share/', 'share'],
    ['opt/kata/', undefined],
    ['opt/kata', undefined],
    ['./', undefined],
    ['opt/', undefined],
    ['.', undefined],
  ])('maps %j to %j', (name, expected) => {
    expect(relativeToInstallDir(name, name)).toBe(expected);
  });

  it.each([
    ['/opt/kata/bin/x', 'payload member "/opt/kata/bin/x": absolute path'],
    ['opt/kata/../etc/passwd', 'payload member "opt/kata/../etc/passwd": path contains ".."'],
    ['opt/kata/bin/..', 'payload member "opt/kata/bin/..": path contains ".."'],
    ['opt/other/x', 'payload member "opt/other/x": outside opt/kata/'],
    ['etc/x', 'payload member "etc/x": outside opt/kata/'],
    ['opt/katax/x', 'payload member "opt/katax/x": outside opt/kata/'],
  ])('refuses %j', (name, message) => {
    expect(refusal(() => relativeToInstallDir(name, name))).toBe(message);
  });
});

describe('judgeEntry', () => {
  it('accepts a file with its mode (permission and sticky bits), size and mtime', () => {
    expect(judgeEntry(entry({ mode: 0o100755 }), LIMITS)).toEqual({
      kind: 'file',
      rel: 'bin/containerd-shim-kata-v2',
      mode: 0o755,
      size: 10,
      mtime: 1_700_000_000,
    });
    expect(judgeEntry(entry({ mode: 0o1644 }), LIMITS)).toMatchObject({ mode: 0o1644 });
  });

  it('accepts a file of exactly the per-file limit and refuses one byte more', () => {
    expect(judgeEntry(entry({ size: 100 }), LIMITS)).toMatchObject({ kind: 'file', size: 100 });
    expect(refusal(() => judgeEntry(entry({ size: 101 }), LIMITS))).toBe(
      'payload member "opt/kata/bin/containerd-shim-kata-v2": is 101 bytes, more than the 100-byte limit ' +
        'for one file (decompression bomb?)',
    );
  });

  it('keeps generous default limits that still stop a bomb', () => {
    expect(DEFAULT_LIMITS).toEqual({
      maxEntries: 200_000,
      maxTotalBytes: 64 * 1024 ** 3,
      maxFileBytes: 16 * 1024 ** 3,
    });
    expect(Object.isFrozen(DEFAULT_LIMITS)).toBe(true);
    expect(judgeEntry(entry({ size: 16 * 1024 ** 3 }), DEFAULT_LIMITS)).toMatchObject({ kind: 'file' });
    expect(() => judgeEntry(entry({ size: 16 * 1024 ** 3 + 1 }), DEFAULT_LIMITS)).toThrow(/limit for one file/);
  });

  it('accepts directories, relative symlinks and hardlinks inside the install dir', () => {
    expect(judgeEntry(entry({ name: 'opt/kata/share/', kind: 'directory', mode: 0o40755 }), LIMITS)).toEqual({
      kind: 'directory',
      rel: 'share',
      mode: 0o755,
    });
    expect(judgeEntry(entry({ name: 'opt/kata/bin/k', kind: 'symlink', linkName: '../share/k' }), LIMITS)).toEqual({
      kind: 'symlink',
      rel: 'bin/k',
      target: '../share/k',
    });
    const hardlink = entry({ name: 'opt/kata/bin/b', kind: 'hardlink', linkName: 'opt/kata/bin/a' });
    expect(judgeEntry(hardlink, LIMITS)).toEqual({ kind: 'hardlink', rel: 'bin/b', targetRel: 'bin/a' });
  });

  it('skips the directories above the install dir, which are not ours', () => {
    expect(judgeEntry(entry({ name: 'opt/', kind: 'directory' }), LIMITS)).toBeUndefined();
    expect(judgeEntry(entry({ name: 'opt/kata/', kind: 'directory' }), LIMITS)).toBeUndefined();
  });

  it.each<[string, Partial<TarEntry>, string]>([
    [
      'a file where a parent directory must be',
      { name: 'opt/kata', kind: 'file' },
      'is a file, but this path must be a directory',
    ],
    ['a setuid file', { mode: 0o4755 }, 'has the setuid/setgid bit (mode 4755)'],
    ['a setgid directory', { kind: 'directory', mode: 0o2755 }, 'has the setuid/setgid bit (mode 2755)'],
    ['a symlink with an empty target', { kind: 'symlink', linkName: '' }, 'symlink with an empty target'],
    [
      'an absolute symlink',
      { kind: 'symlink', linkName: '/etc/shadow' },
      'symlink to absolute path "/etc/shadow" escapes the install dir',
    ],
    [
      'a hardlink to the install root itself',
      { kind: 'hardlink', linkName: 'opt/kata' },
      'hardlink to "opt/kata" escapes the install dir',
    ],
    ['a hardlink outside the install dir', { kind: 'hardlink', linkName: 'etc/shadow' }, 'outside opt/kata/'],
    ['a character device', { kind: 'char-device', typeflag: '3' }, 'is a device node'],
    ['a block device', { kind: 'block-device', typeflag: '4' }, 'is a device node'],
    ['a FIFO', { kind: 'fifo', typeflag: '6' }, 'is a FIFO'],
    ['a sparse member', { kind: 'other', typeflag: 'S' }, 'has tar type "S", which a kata payload never contains'],
    [
      'an unknown member type',
      { kind: 'other', typeflag: 'V' },
      'has tar type "V", which a kata payload never contains',
    ],
  ])('refuses %s', (_name, overrides, problem) => {
    const judged = entry(overrides);
    expect(refusal(() => judgeEntry(judged, LIMITS))).toBe(`payload member "${judged.name}": ${problem}`);
  });
});
