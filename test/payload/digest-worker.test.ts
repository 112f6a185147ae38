import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DigestWorker } from '../../src/payload/digest-worker.js';
import { DEFAULT_LIMITS } from '../../src/payload/entry-policy.js';
import { pumpLocalArchive } from '../../src/payload/local-archive.js';
import { TarParser } from '../../src/payload/tar-parser.js';
import { TreeWriter } from '../../src/payload/tree-writer.js';
import { compress, craftTar, type CraftEntry } from '../helpers/tar-craft.js';

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');
const work = mkdtempSync(path.join(tmpdir(), 'kata-digest-worker-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Counts the digests that went to the worker rather than being hashed on the calling thread. */
class CountingDigests extends DigestWorker {
  onWorker = 0;
  override start() {
    this.onWorker += 1;
    return super.start();
  }
}

/** Bytes no two of which repeat in a short period, so a misplaced slice changes the digest. */
function pattern(length: number, seed: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i += 1) bytes[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff;
  return bytes;
}

describe('DigestWorker', () => {
  it('hashes interleaved slices of shared and ordinary buffers into one digest per file', async () => {
    const worker = new DigestWorker();
    try {
      await worker.whenReady();
      const shared = Buffer.from(new SharedArrayBuffer(1 << 16));
      const first = pattern(100_000, 1);
      const second = pattern(5_000, 2);
      const a = worker.start();
      const b = worker.start();
      for (let offset = 0; offset < first.length; offset += shared.length) {
        const part = first.subarray(offset, offset + shared.length);
        part.copy(shared);
        a.update(shared.subarray(0, part.length));
        if (offset === 0) b.update(second);
        await worker.flush();
      }
      const digests = Promise.all([a.end(), b.end()]);
      await worker.flush();
      expect(await digests).toEqual([sha256(first), sha256(second)]);
    } finally {
      await worker.close();
    }
  });

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
});

describe('the unpack with the digest worker running', () => {
  const K = './opt/kata';
  const big = pattern((2 << 20) + 12_345, 4);
  const small = pattern(700, 5);

  async function unpack(entries: CraftEntry[]) {
    const archive = path.join(work, `payload-${Math.random().toString(36).slice(2)}.tar.zst`);
    writeFileSync(archive, compress(craftTar(entries), 'zst'));
    const root = path.join(work, `root-${Math.random().toString(36).slice(2)}`);
    mkdirSync(root);
    const digests = new CountingDigests();
    await digests.whenReady();
    const writer = new TreeWriter(root, DEFAULT_LIMITS, digests);
    try {
      await pumpLocalArchive(archive, new TarParser(writer.onEntry), { hash: false, flow: writer });
      await writer.finish();
    } catch (error) {
      await writer.abandon();
      throw error;
    } finally {
      await digests.close();
    }
    return { root, writer, onWorker: digests.onWorker };
  }

  it('records the digest of every file, of a hardlink and of an identical duplicate, as written', async () => {
    const { root, writer, onWorker } = await unpack([
      { name: `${K}/bin/big`, body: big, mode: 0o755 },
      { name: `${K}/bin/small`, body: small },
      { name: `${K}/bin/link`, type: 'hardlink', linkName: `${K}/bin/big` },
      { name: `${K}/bin/small`, body: small },
    ]);
    expect(onWorker).toBe(2);
    const digestOf = (rel: string) => {
      const node = writer.index.nodes.get(rel);
      return node?.kind === 'file' ? node.sha256 : undefined;
    };
    expect(digestOf('bin/big')).toBe(sha256(big));
    expect(digestOf('bin/small')).toBe(sha256(small));
    expect(digestOf('bin/link')).toBe(sha256(big));
    expect(sha256(readFileSync(path.join(root, 'bin/big')))).toBe(sha256(big));
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
