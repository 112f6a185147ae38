import { createHash } from 'node:crypto';
import { closeSync, lstatSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DigestWorker } from '../../src/payload/digest-worker.js';
import { DEFAULT_LIMITS } from '../../src/payload/entry-policy.js';
import { pumpLocalArchive } from '../../src/payload/local-archive.js';
import { TarParser } from '../../src/payload/tar-parser.js';
import { processUmask, TreeWriter } from '../../src/payload/tree-writer.js';
import { compress, craftTar, type CraftEntry } from '../helpers/tar-craft.js';

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');
const work = mkdtempSync(path.join(tmpdir(), 'kata-digest-worker-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Bytes no two of which repeat in a short period, so a misplaced slice changes the digest. */
function pattern(length: number, seed: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i += 1) bytes[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff;
  return bytes;
}

describe('DigestWorker', () => {
  it('hashes a whole open file at explicit offsets, leaving the fd offset alone', async () => {
    const file = path.join(work, 'archive.bin');
    const bytes = pattern(3 << 20, 3);
    writeFileSync(file, bytes);
    const worker = new DigestWorker();
    const fd = openSync(file, 'r');
    try {
      expect(await worker.hashFile(fd)).toBe(sha256(bytes));
    } finally {
      closeSync(fd);
      await worker.close();
    }
  });

  it('stops a hash under way when cancelled, rejecting it instead of reading the rest of the file', async () => {
    const file = path.join(work, 'cancelled.bin');
    writeFileSync(file, pattern(64 << 20, 9));
    const worker = new DigestWorker();
    const fd = openSync(file, 'r');
    try {
      const digest = worker.hashFile(fd);
      worker.cancel();
      await expect(digest).rejects.toThrow(/cancelled/);
    } finally {
      closeSync(fd);
      await worker.close();
    }
  });
});

describe('the unpack records stat signatures, not per-file digests', () => {
  const K = './opt/kata';
  const big = pattern((2 << 20) + 12_345, 4);
  const small = pattern(700, 5);

  async function unpack(entries: CraftEntry[]) {
    const archive = path.join(work, `payload-${Math.random().toString(36).slice(2)}.tar.zst`);
    writeFileSync(archive, compress(craftTar(entries), 'zst'));
    const root = path.join(work, `root-${Math.random().toString(36).slice(2)}`);
    mkdirSync(root);
    const writer = new TreeWriter(root, DEFAULT_LIMITS, processUmask());
    try {
      await pumpLocalArchive(archive, new TarParser(writer.onEntry), { hash: false, flow: writer });
      await writer.finish();
    } catch (error) {
      await writer.abandon();
      throw error;
    }
    return { root, writer };
  }

  it('records each file’s inode and ctime once the tree is complete, a hardlink’s as its target’s', async () => {
    const { root, writer } = await unpack([
      { name: `${K}/bin/big`, body: big, mode: 0o755 },
      { name: `${K}/bin/small`, body: small },
      { name: `${K}/bin/link`, type: 'hardlink', linkName: `${K}/bin/big` },
      { name: `${K}/bin/small`, body: small },
    ]);
    const onDisk = (rel: string) => {
      const stats = lstatSync(path.join(root, rel), { bigint: true });
      return `${stats.ino}:${stats.ctimeNs}`;
    };
    expect(Object.fromEntries(writer.signatures)).toEqual({
      'bin/big': onDisk('bin/big'),
      'bin/small': onDisk('bin/small'),
      'bin/link': onDisk('bin/big'),
    });
    expect(sha256(readFileSync(path.join(root, 'bin/big')))).toBe(sha256(big));
    expect(lstatSync(path.join(root, 'bin/big')).mode & 0o7777).toBe(0o755);
    expect(lstatSync(path.join(root, 'bin/small')).mode & 0o7777).toBe(0o644);
  });

  it('sets the archive’s mode even where the umask would strip it from open()', async () => {
    const archive = path.join(work, 'umask.tar.zst');
    writeFileSync(archive, compress(craftTar([{ name: `${K}/bin/tool`, body: small, mode: 0o755 }]), 'zst'));
    const root = path.join(work, 'root-umask');
    mkdirSync(root);
    const writer = new TreeWriter(root, DEFAULT_LIMITS, 0o077);
    await pumpLocalArchive(archive, new TarParser(writer.onEntry), { hash: false, flow: writer });
    await writer.finish();
    expect(lstatSync(path.join(root, 'bin/tool')).mode & 0o7777).toBe(0o755);
  });

  it('gives up promptly when a member is refused in the chunk where a hashed file ended', async () => {
    await expect(
      unpack([
        { name: `${K}/bin/small`, body: small },
        { name: `${K}/dev-null`, type: 'char' },
      ]),
    ).rejects.toMatchObject({ code: 'bad-payload' });
  });

  it('refuses a duplicate whose bytes differ from the first copy, naming the member', async () => {
    await expect(
      unpack([
        { name: `${K}/bin/small`, body: small },
        { name: `${K}/bin/small`, body: pattern(small.length, 6) },
      ]),
    ).rejects.toMatchObject({ code: 'bad-payload', message: expect.stringContaining('conflicting duplicate') });
  });
});
