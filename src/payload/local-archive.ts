import { createHash, type Hash } from 'node:crypto';
import { closeSync, createReadStream, fstatSync, openSync, read, readSync, write } from 'node:fs';
import { promisify } from 'node:util';
import { execa } from 'execa';
import { KataDeployError } from '../core/errors.js';
import { pumpArchive, type ArchiveFacts } from './archive-stream.js';
import { detectCompression } from './decompress.js';
import { openPipe } from './libc.js';
import type { TarParser } from './tar-parser.js';

const readAsync = promisify(read);
const writeAsync = promisify(write);
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

/** Size, mtime, ctime and inode of an open file: equal identity, equal bytes. */
export function fileIdentity(stats: { size: number; mtimeMs: number; ctimeMs: number; ino: number }): string {
  return `${stats.size}:${stats.mtimeMs}:${stats.ctimeMs}:${stats.ino}`;
}

function headOf(fd: number): Buffer {
  const head = Buffer.alloc(8);
  return head.subarray(0, readSync(fd, head, 0, 8, 0));
}

/** Writes all of a chunk to a blocking fd, looping over short writes. */
async function writeAll(fd: number, chunk: Buffer): Promise<void> {
  for (let offset = 0; offset < chunk.length;) offset += (await writeAsync(fd, chunk, offset, chunk.length - offset, null)).bytesWritten;
}

/**
 * Reads the payload from our own fd into the decompressor's stdin, hashing exactly the bytes it is
 * fed: the verified bytes are the unpacked bytes, whatever happens to the path meanwhile. Writes stay
 * in order (one chain); a buffer is reused once its write is done. Rejects with the first write error
 * (EPIPE when the decompressor gave up; its exit status then says why).
 */
async function feedDecompressor(fd: number, stdin: number, hash: Hash | undefined): Promise<number> {
  let failure: unknown;
  let last: Promise<void> = Promise.resolve();
  const flow: WriteFlow = { takeIssued: () => [last], backpressure: () => undefined };
  const total = await drain(fd, (chunk) => {
    if (failure !== undefined) throw failure;
    hash?.update(chunk);
    last = last.then(() => (failure === undefined ? writeAll(stdin, chunk) : undefined)).catch((error: unknown) => {
      failure ??= error;
    });
  }, flow);
  await last;
  if (failure !== undefined) throw failure;
  return total;
}

/** Parser complaints are plain Errors; the operator sees them as a bad payload (exit 4). */
export function asPayloadError(error: unknown): KataDeployError {
  if (error instanceof KataDeployError) return error;
  return new KataDeployError('bad-payload', `payload is not a valid tar archive: ${(error as Error).message}`, {
    hint: 'use an unmodified kata-static release tarball (.tar, .tar.gz, .tar.xz or .tar.zst)', cause: error,
  });
}

/** What a local unpack learnt beyond the archive: the identity of the very file it read. */
export interface LocalArchiveFacts extends ArchiveFacts {
  readonly identity: string;
}

/**
 * The fast path for a payload on local disk. The file is opened once and every byte (format sniffing,
 * checksum, decompression) comes from that one fd, so replacing the path mid-run cannot make us verify
 * one file and unpack another. xz and zstd read our bytes on stdin and write into a 1 MiB pipe that we
 * drain with reused buffers; a plain tar is read the same way; gzip goes through zlib. `onOpened` lets
 * a test tamper with the path once the file is open.
 */
export async function pumpLocalArchive(file: string, parser: TarParser, options: { hash: boolean; flow?: WriteFlow; onOpened?: () => void }): Promise<LocalArchiveFacts> {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    throw new KataDeployError('bad-payload', `cannot read the payload "${file}": ${(error as Error).message}`, { hint: 'check --payload', cause: error });
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw new KataDeployError('bad-payload', `the payload "${file}" is not a regular file`, { hint: 'check --payload' });
    options.onOpened?.();
    const facts = await pumpOpen(fd, file, parser, options);
    return { ...facts, identity: fileIdentity(stats) };
  } finally {
    closeSync(fd);
  }
}

async function pumpOpen(fd: number, file: string, parser: TarParser, options: { hash: boolean; flow?: WriteFlow }): Promise<ArchiveFacts> {
  const head = headOf(fd);
  if (head.length === 0) throw new KataDeployError('bad-payload', `the payload "${file}" is empty`, { hint: 'check --payload' });
  const compression = detectCompression(head);
  if (compression === 'gzip') {
    const source = createReadStream('', { fd, start: 0, autoClose: false, highWaterMark: CHUNK });
    return pumpArchive(source, parser, { hash: options.hash, backpressure: () => options.flow?.backpressure() });
  }
  const hash = options.hash ? createHash('sha256') : undefined;
  let bytes = 0;
  if (compression === 'tar') {
    try {
      bytes = await drain(fd, (chunk) => {
        hash?.update(chunk);
        parser.push(chunk);
      }, options.flow);
    } catch (error) {
      throw asPayloadError(error);
    }
  } else {
    const program = compression === 'xz' ? 'xz' : 'zstd';
    const [inRead, inWrite] = openPipe(CHUNK);
    const [outRead, outWrite] = openPipe(CHUNK);
    let child;
    try {
      // execa passes raw fds straight to spawn; its types only list 0/1/2 for them.
      child = execa(program, ['-d', '-c', '-q'], { stdin: inRead as unknown as 0, stdout: outWrite as unknown as 1, stderr: 'pipe', reject: false });
    } finally {
      closeSync(inRead);
      closeSync(outWrite);
    }
    const fed = feedDecompressor(fd, inWrite, hash).finally(() => closeSync(inWrite));
    fed.catch(() => undefined);
    try {
      await drain(outRead, (chunk) => parser.push(chunk), options.flow);
    } catch (error) {
      child.kill('SIGKILL');
      await child;
      await fed.catch(() => undefined);
      throw asPayloadError(error);
    } finally {
      closeSync(outRead);
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
    bytes = await fed.catch((error: unknown) => {
      throw new KataDeployError('bad-payload', `cannot feed the payload to ${program}: ${(error as Error).message}`, { hint: 'check --payload', cause: error });
    });
  }
  try {
    parser.finish();
  } catch (error) {
    throw asPayloadError(error);
  }
  return { compression, bytes, sha256: hash?.digest('hex') };
}
