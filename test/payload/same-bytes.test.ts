import { mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pumpLocalArchive } from '../../src/payload/local-archive.js';
import { TarParser } from '../../src/payload/tar-parser.js';
import { compress, craftTar } from '../helpers/tar-craft.js';
import { minimalPayload, sha256, writeArchive } from './fixtures.js';

let work: string;
beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'kata-same-bytes-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A parser that keeps the VERSION file's text: which archive was unpacked. */
function versionReader(): { parser: TarParser; version: () => string } {
  const chunks: Buffer[] = [];
  const parser = new TarParser((entry) =>
    entry.name.endsWith('/VERSION')
      ? { write: (chunk) => void chunks.push(Buffer.from(chunk)), end: () => undefined }
      : undefined,
  );
  return { parser, version: () => Buffer.concat(chunks).toString('utf8') };
}

describe('a local payload is verified and unpacked from one open file', () => {
  for (const format of ['tar', 'gz', 'xz', 'zst'] as const) {
    it(`hashes and unpacks the file it opened even when the path is replaced right after (${format})`, async () => {
      const original = compress(craftTar(minimalPayload({ version: '4.0.0' })), format);
      const file = writeArchive(work, `payload.${format}`, original);
      const impostor = writeArchive(
        work,
        `impostor.${format}`,
        compress(craftTar(minimalPayload({ version: '6.6.6' })), format),
      );
      const { parser, version } = versionReader();

      const facts = await pumpLocalArchive(file, parser, { hash: true, onOpened: () => renameSync(impostor, file) });
      expect(facts.sha256).toBe(sha256(original));
      expect(version()).toBe('4.0.0\n');
    });
  }
});
