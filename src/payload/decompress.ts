import { spawn } from 'node:child_process';
import { createGunzip } from 'node:zlib';
import type { Readable, Writable } from 'node:stream';
import { KataDeployError } from '../core/errors.js';
import { ownChild } from '../host/owned-children.js';

/** The container formats a kata-static payload comes in, told apart by magic bytes, never by name. */
export type Compression = 'tar' | 'gzip' | 'xz' | 'zstd';

/** Reads the compression from the first bytes of a stream. */
export function detectCompression(head: Buffer): Compression {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (head.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return 'zstd';
  return 'tar';
}

/** A running decompressor: write compressed bytes in, read tar bytes out, await `done` for its verdict. */
export interface Decompressor {
  readonly input: Writable;
  readonly output: Readable;
  readonly done: Promise<void>;
  abort(): void;
}

/**
 * Starts the decompressor for a format. xz and zstd run as host programs (argv only, no shell): they
 * decompress on another core while this process parses and writes, which is most of why we keep up
 * with GNU tar. gzip stays in zlib, which Node has natively.
 */
export function startDecompressor(compression: Exclude<Compression, 'tar'>): Decompressor {
  if (compression === 'gzip') {
    const gunzip = createGunzip({ chunkSize: 256 * 1024 });
    const done = new Promise<void>((resolve, reject) => {
      gunzip.on('end', resolve);
      gunzip.on('error', (error) => reject(corrupt('gzip', error.message)));
    });
    return { input: gunzip, output: gunzip, done, abort: () => gunzip.destroy() };
  }
  const program = compression === 'xz' ? 'xz' : 'zstd';
  const child = ownChild(spawn(program, ['-d', '-c', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] }));
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    if (stderr.length < 4096) stderr += chunk.toString('utf8');
  });
  let killed = false;
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') return reject(corrupt(compression, error.message));
      reject(
        new KataDeployError(
          'bad-payload',
          `the payload is ${compression}-compressed but "${program}" is not installed`,
          {
            hint: `install ${program} on the node image, or use a .tar/.tar.gz payload`,
          },
        ),
      );
    });
    child.on('close', (code, signal) => {
      if (killed || code === 0) return resolve();
      reject(corrupt(compression, stderr.trim() || `${program} exited ${code ?? signal}`));
    });
  });
  return {
    input: child.stdin,
    output: child.stdout,
    done,
    abort: () => {
      killed = true;
      child.kill('SIGKILL');
    },
  };
}

function corrupt(compression: string, detail: string): KataDeployError {
  return new KataDeployError('bad-payload', `payload is not valid ${compression} data: ${detail}`, {
    hint: 'the download may be truncated or corrupt; fetch the payload again',
  });
}
