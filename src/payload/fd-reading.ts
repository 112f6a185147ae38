import { createHash } from 'node:crypto';
import { read, readSync } from 'node:fs';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';

const readAsync = promisify(read);
/** Bytes per read: the pipe and the pooled buffers are this size. */
export const CHUNK = 1 << 20;
const POOL = 8;

/** How the consumer of chunks says when a buffer is free again: writes it issued for the last chunk. */
export interface WriteFlow {
  takeIssued(): Promise<unknown>[];
  backpressure(): Promise<void> | undefined;
}

/**
 * Reads a blocking fd until EOF into a small pool of reused buffers, handing each filled slice to
 * `onChunk`. A buffer goes back to the pool once the writes issued for it have settled,
 * so reading, parsing and writing overlap while memory stays at POOL MiB.
 */
export async function drain(
  fd: number,
  onChunk: (chunk: Buffer) => void,
  flow?: WriteFlow,
  positional = false,
  stop?: { readonly stopped: boolean },
): Promise<number> {
  const free: Buffer[] = Array.from({ length: flow === undefined ? 1 : POOL }, () => Buffer.allocUnsafeSlow(CHUNK));
  const waiting: ((buffer: Buffer) => void)[] = [];
  const release = (buffer: Buffer): void => {
    const next = waiting.shift();
    if (next !== undefined) next(buffer);
    else free.push(buffer);
  };
  let total = 0;
  while (stop?.stopped !== true) {
    const buffer = free.pop() ?? (await new Promise<Buffer>((resolve) => waiting.push(resolve)));
    const { bytesRead } = await readAsync(fd, buffer, 0, CHUNK, positional ? total : null);
    if (bytesRead === 0) return total;
    total += bytesRead;
    onChunk(buffer.subarray(0, bytesRead));
    if (flow === undefined) release(buffer);
    else void Promise.all(flow.takeIssued()).then(() => release(buffer));
  }
  return total;
}

/** The first bytes of the file, read at offset 0, to tell its compression apart. */
export function headOf(fd: number): Buffer {
  const head = Buffer.alloc(8);
  return head.subarray(0, readSync(fd, head, 0, 8, 0));
}

/**
 * sha256 of an open file, read at explicit offsets: the fd's own offset belongs to the decompressor.
 * A failed unpack sets `stop`, so the hash ends at the next chunk instead of reading the rest of the file.
 */
export async function hashAt(fd: number, stop: { readonly stopped: boolean }): Promise<string> {
  const hash = createHash('sha256');
  await drain(fd, (chunk) => hash.update(chunk), undefined, true, stop);
  return hash.digest('hex');
}

/**
 * The file's bytes from offset 0 as a stream that never closes the fd. An fs.ReadStream closes its fd when
 * it is destroyed, as a failed unpack destroys its source, even with autoClose false; our own close then
 * hit EBADF, or a later run's file that had been given the same number was closed under it.
 * `settled` resolves once no read is in flight, so the fd may be closed.
 */
export function streamFrom(fd: number): { stream: Readable; settled(): Promise<unknown> } {
  let position = 0;
  let reading: Promise<unknown> = Promise.resolve();
  const stream = new Readable({
    highWaterMark: CHUNK,
    read() {
      const buffer = Buffer.allocUnsafe(CHUNK);
      reading = readAsync(fd, buffer, 0, CHUNK, position).then(
        ({ bytesRead }) => {
          position += bytesRead;
          stream.push(bytesRead === 0 ? null : buffer.subarray(0, bytesRead));
        },
        (error: unknown) => stream.destroy(error as Error),
      );
    },
  });
  return { stream, settled: () => reading };
}
