import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { KataDeployError } from '../core/errors.js';
import { detectCompression, startDecompressor, type Compression, type Decompressor } from './decompress.js';
import type { TarParser } from './tar-parser.js';

/** What streaming the archive learnt: its format, size, and digest of the bytes as received. */
export interface ArchiveFacts {
  readonly compression: Compression;
  readonly bytes: number;
  /** sha256 of the archive bytes as received; undefined when hashing was not asked for. */
  readonly sha256: string | undefined;
}

/**
 * Streams an archive into the tar parser, decompressing on the way and hashing the raw bytes while they
 * pass, so a checksum is verified without a second read. Backpressure runs end to end (parser → pipe →
 * decompressor → source), so memory stays at a few chunks whatever the payload's size.
 */
export function pumpArchive(
  source: Readable,
  parser: TarParser,
  options: {
    hash: boolean;
    backpressure?: () => Promise<void> | undefined;
    /** Called with the running total of archive bytes read (for progress). */
    onBytes?: (bytes: number) => void;
  },
): Promise<ArchiveFacts> {
  return new Promise<ArchiveFacts>((resolve, reject) => {
    const hash = options.hash ? createHash('sha256') : undefined;
    let bytes = 0;
    let head: Buffer | undefined = Buffer.alloc(0);
    let compression: Compression | undefined;
    let decompressor: Decompressor | undefined;
    let outputEnded: Promise<void> = Promise.resolve();
    let failed = false;

    const fail = (error: unknown): void => {
      if (failed) return;
      failed = true;
      source.destroy();
      decompressor?.abort();
      reject(error);
    };
    const feed = (chunk: Buffer): void => {
      if (failed) return;
      try {
        parser.push(chunk);
        const wait = options.backpressure?.();
        if (wait !== undefined) {
          const paused = decompressor?.output ?? source;
          paused.pause();
          void wait.then(() => paused.resume());
        }
      } catch (error) {
        fail(
          error instanceof KataDeployError
            ? error
            : new KataDeployError('bad-payload', `payload is not a valid tar archive: ${(error as Error).message}`, {
                hint: 'use an unmodified kata-static release tarball (.tar, .tar.gz, .tar.xz or .tar.zst)',
                cause: error,
              }),
        );
      }
    };
    const start = (first: Buffer): void => {
      compression = detectCompression(first);
      if (compression === 'tar') return;
      const running = startDecompressor(compression);
      decompressor = running;
      outputEnded = new Promise<void>((done) => running.output.on('end', done));
      running.output.on('data', feed);
      running.output.on('error', fail);
      running.input.on('error', () => undefined);
      running.input.on('drain', () => source.resume());
      running.done.catch(fail);
    };
    const forward = (chunk: Buffer): void => {
      if (decompressor === undefined) feed(chunk);
      else if (!decompressor.input.write(chunk)) source.pause();
    };

    source.on('data', (chunk: Buffer) => {
      if (failed) return;
      bytes += chunk.length;
      options.onBytes?.(bytes);
      hash?.update(chunk);
      if (head !== undefined) {
        head = Buffer.concat([head, chunk]);
        if (head.length < 8) return;
        start(head);
        chunk = head;
        head = undefined;
      }
      forward(chunk);
    });
    source.on('error', (error) =>
      fail(
        new KataDeployError('bad-payload', `cannot read the payload: ${error.message}`, {
          hint: 'check the --payload path or URL',
          cause: error,
        }),
      ),
    );
    source.on('end', () => {
      void (async () => {
        if (head !== undefined) {
          if (head.length === 0)
            throw new KataDeployError('bad-payload', 'the payload is empty', {
              hint: 'check the --payload path or URL',
            });
          start(head);
          forward(head);
        }
        decompressor?.input.end();
        await Promise.all([outputEnded, decompressor?.done]);
        if (failed) return;
        parser.finish();
        resolve({ compression: compression ?? 'tar', bytes, sha256: hash?.digest('hex') });
      })().catch((error: unknown) => {
        fail(
          error instanceof KataDeployError
            ? error
            : new KataDeployError('bad-payload', `payload is not a valid tar archive: ${(error as Error).message}`, {
                hint: 'the download may be truncated; fetch the payload again',
                cause: error,
              }),
        );
      });
    });
  });
}
