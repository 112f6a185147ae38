import { createHash } from 'node:crypto';
import { closeSync, createReadStream, openSync, read, readSync } from 'node:fs';
import { promisify } from 'node:util';
import { execa } from 'execa';
import { KataDeployError } from '../core/errors.js';
import { pumpArchive, type ArchiveFacts } from './archive-stream.js';
import { detectCompression } from './decompress.js';
import { openPipe } from './libc.js';
import type { TarParser } from './tar-parser.js';

const readAsync = promisify(read);
const CHUNK = 1 << 20;
const POOL = 8;

/** How the consumer of chunks says when a buffer is free again: writes it issued for the last chunk. */
export interface WriteFlow {
  takeIssued(): Promise<unknown>[];
  backpressure(): Promise<void> | undefined;
}

/**
 * Reads a blocking fd until EOF into a small pool of reused buffers, handing each filled slice to
 * `onChunk`. A buffer goes back to the pool once the writes issued for it have settled, so reading,
 * parsing and writing overlap while memory stays at POOL MiB.
 */
async function drain(fd: number, onChunk: (chunk: Buffer) => void, flow?: WriteFlow): Promise<number> {
  const free: Buffer[] = Array.from({ length: flow === undefined ? 1 : POOL }, () => Buffer.allocUnsafe(CHUNK));
  const waiting: ((buffer: Buffer) => void)[] = [];
  const release = (buffer: Buffer): void => {
    const next = waiting.shift();
    if (next !== undefined) next(buffer);
    else free.push(buffer);
  };
  let total = 0;
  for (;;) {
    const buffer = free.pop() ?? await new Promise<Buffer>((resolve) => waiting.push(resolve));
    const { bytesRead } = await readAsync(fd, buffer, 0, CHUNK, null);
    if (bytesRead === 0) return total;
    total += bytesRead;
    onChunk(buffer.subarray(0, bytesRead));
    if (flow === undefined) release(buffer);
    else void Promise.all(flow.takeIssued()).then(() => release(buffer));
  }
}

/** sha256 of a file, read with one reused buffer. */
export async function hashFile(file: string): Promise<string> {
  const fd = openSync(file, 'r');
  try {
    const hash = createHash('sha256');
    await drain(fd, (chunk) => hash.update(chunk));
    return hash.digest('hex');
  } finally {
    closeSync(fd);
  }
}

function headOf(file: string): Buffer {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(8);
    return head.subarray(0, readSync(fd, head, 0, 8, 0));
  } finally {
    closeSync(fd);
  }
}

/** Parser complaints are plain Errors; the operator sees them as a bad payload (exit 4). */
export function asPayloadError(error: unknown): KataDeployError {
  if (error instanceof KataDeployError) return error;
  return new KataDeployError('bad-payload', `payload is not a valid tar archive: ${(error as Error).message}`, {
    hint: 'use an unmodified kata-static release tarball (.tar, .tar.gz, .tar.xz or .tar.zst)', cause: error,
  });
}

/**
 * The fast path for a payload on local disk. xz and zstd read the file themselves and write into a
 * 1 MiB pipe that we drain with one reused buffer; a plain tar is read the same way; the checksum, when
 * wanted, is computed by a concurrent read of the same file. gzip goes through zlib.
 */
export async function pumpLocalArchive(file: string, parser: TarParser, options: { hash: boolean; flow?: WriteFlow }): Promise<ArchiveFacts> {
  let head: Buffer;
  try {
    head = headOf(file);
  } catch (error) {
    throw new KataDeployError('bad-payload', `cannot read the payload "${file}": ${(error as Error).message}`, { hint: 'check --payload', cause: error });
  }
  if (head.length === 0) throw new KataDeployError('bad-payload', `the payload "${file}" is empty`, { hint: 'check --payload' });
  const compression = detectCompression(head);
  if (compression === 'gzip') return pumpArchive(createReadStream(file, { highWaterMark: CHUNK }), parser, { hash: options.hash, backpressure: () => options.flow?.backpressure() });
  const digest = options.hash ? hashFile(file) : Promise.resolve(undefined);
  digest.catch(() => undefined);
  let bytes = 0;
  if (compression === 'tar') {
    const fd = openSync(file, 'r');
    try {
      bytes = await drain(fd, (chunk) => parser.push(chunk), options.flow);
    } catch (error) {
      throw asPayloadError(error);
    } finally {
      closeSync(fd);
    }
  } else {
    const program = compression === 'xz' ? 'xz' : 'zstd';
    const [readFd, writeFd] = openPipe(CHUNK);
    let child;
    try {
      // execa passes a raw fd straight to spawn; its types only list 1 and 2 for stdout.
      const stdout = writeFd as unknown as 1;
      child = execa(program, ['-d', '-c', '-q', '--', file], { stdin: 'ignore', stdout, stderr: 'pipe', reject: false });
    } finally {
      closeSync(writeFd);
    }
    try {
      await drain(readFd, (chunk) => parser.push(chunk), options.flow);
    } catch (error) {
      child.kill('SIGKILL');
      await child;
      throw asPayloadError(error);
    } finally {
      closeSync(readFd);
    }
    const result = await child;
    if (result.failed && (result.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
      throw new KataDeployError('bad-payload', `the payload is ${compression}-compressed but "${program}" is not installed`, { hint: `install ${program}, or use a .tar/.tar.gz payload` });
    }
    if (result.exitCode !== 0) {
      throw new KataDeployError('bad-payload', `payload is not valid ${compression} data: ${String(result.stderr).trim() || `${program} exited ${result.exitCode}`}`, {
        hint: 'the file may be truncated or corrupt; fetch the payload again',
      });
    }
  }
  try {
    parser.finish();
  } catch (error) {
    throw asPayloadError(error);
  }
  return { compression, bytes, sha256: await digest };
}
