import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { list as nodeTarList } from 'tar';
import { TarParser, type TarEntry } from '../../src/payload/tar-parser.js';

/** Parses an archive fed in awkward chunk sizes (headers split across chunks), collecting members. */
function parse(archive: Buffer, chunk: number): { entries: TarEntry[]; bodies: Map<string, Buffer> } {
  const entries: TarEntry[] = [];
  const bodies = new Map<string, Buffer>();
  const parser = new TarParser((entry) => {
    entries.push(entry);
    const parts: Buffer[] = [];
    return {
      write: (data) => void parts.push(Buffer.from(data)),
      end: () => void bodies.set(entry.name, Buffer.concat(parts)),
    };
  });
  for (let offset = 0; offset < archive.length; offset += chunk) parser.push(archive.subarray(offset, offset + chunk));
  parser.finish();
  return { entries, bodies };
}

describe('TarParser reads what GNU tar writes', () => {
  let dir: string;
  const longDir = 'very-long-directory-name/'.repeat(5);
  const long = `opt/kata/share/${longDir}configuration-qemu-nvidia-gpu-snp-runtime-rs.toml`;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'kata-tar-'));
    mkdirSync(path.join(dir, 'src', path.dirname(long)), { recursive: true });
    writeFileSync(path.join(dir, 'src', long), 'x'.repeat(1000));
    writeFileSync(path.join(dir, 'src/opt/kata/small'), 'hello');
    execFileSync('ln', [
      '-s',
      `../${long.slice('opt/kata/'.length)}`,
      path.join(
        dir,
        'src/opt/kata/share/link-to-a-very-long-target-name-that-goes-on-and-on-and-on-past-one-hundred-bytes',
      ),
    ]);
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  for (const format of ['gnu', 'posix', 'ustar'] as const) {
    it(`reads ${format} archives with names and link targets over 100 bytes, in any chunking`, () => {
      const file = path.join(dir, `${format}.tar`);
      // ustar cannot hold a 100+ byte link target: leave the link out, keep the long name (prefix field).
      const exclude = format === 'ustar' ? ['--exclude=link-to-*'] : [];
      execFileSync('tar', ['-c', '-f', file, `--format=${format}`, ...exclude, '-C', path.join(dir, 'src'), 'opt']);
      const archive = readFileSync(file);
      for (const chunk of [1, 7, 512, 4096, 1 << 20]) {
        const { entries, bodies } = parse(archive, chunk);
        expect(entries.find((entry) => entry.name === long)).toMatchObject({ kind: 'file', size: 1000 });
        expect(bodies.get(long)?.toString()).toBe('x'.repeat(1000));
        expect(bodies.get('opt/kata/small')?.toString()).toBe('hello');
        if (format !== 'ustar')
          expect(entries.find((entry) => entry.kind === 'symlink')?.linkName).toBe(
            `../${long.slice('opt/kata/'.length)}`,
          );
      }
    });
  }

  it('agrees with node-tar, an independent reader, on every member of a sample payload', async () => {
    const file = path.join(dir, 'sample.tar');
    execFileSync(process.execPath, [
      path.resolve(import.meta.dirname, '../../scripts/make-sample-payload.mjs'),
      '--out',
      file,
      '--compression',
      'tar',
    ]);
    const theirs: { name: string; type: string; size: number; linkpath: string }[] = [];
    await nodeTarList({
      file,
      onReadEntry: (entry) =>
        void theirs.push({
          name: entry.path.replace(/^\.\//, '').replace(/\/$/, ''),
          type: String(entry.type),
          size: entry.size ?? 0,
          linkpath: entry.linkpath ?? '',
        }),
    });
    const kinds: Record<string, string> = {
      File: 'file',
      OldFile: 'file',
      Directory: 'directory',
      SymbolicLink: 'symlink',
      Link: 'hardlink',
    };
    const ours = parse(readFileSync(file), 65536).entries.map((entry) => ({
      name: entry.name.replace(/^\.\//, '').replace(/\/$/, ''),
      type: entry.kind,
      size: entry.kind === 'file' ? entry.size : 0,
      linkpath: entry.linkName ?? '',
    }));
    expect(ours.length).toBeGreaterThan(100);
    expect(ours).toEqual(
      theirs.map((entry) => ({
        ...entry,
        type: kinds[entry.type] ?? entry.type,
        size: kinds[entry.type] === 'file' ? entry.size : 0,
      })),
    );
  });

  it('refuses a stream cut inside a member', () => {
    const file = path.join(dir, 'cut.tar');
    execFileSync('tar', ['-c', '-f', file, '-C', path.join(dir, 'src'), 'opt']);
    expect(() => parse(readFileSync(file).subarray(0, 1700), 512)).toThrow(/truncated/);
  });
});
