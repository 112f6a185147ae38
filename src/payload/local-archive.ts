import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { KataDeployError } from '../core/errors.js';
import { pumpArchive, type ArchiveFacts } from './archive-stream.js';
import { detectCompression } from './decompress.js';
import { CHUNK, drain, hashAt, headOf, streamFrom, type WriteFlow } from './fd-reading.js';
import { loadLibc, openPipe } from './libc.js';
import type { TarParser } from './tar-parser.js';

/** Size, mtime, ctime and inode of an open file: equal identity, equal bytes. */
export function fileIdentity(stats: { size: number; mtimeMs: number; ctimeMs: number; ino: number }): string {
  return `${stats.size}:${stats.mtimeMs}:${stats.ctimeMs}:${stats.ino}`;
}

/** Chunks between two readings of how far the decompressor has read (for progress). */
const PROGRESS_EVERY = 16;

interface Exit {
  readonly code: number | null;
  readonly signal: string | null;
  readonly stderr: string;
  readonly missing: boolean;
}

/**
 * Starts xz/zstd with our open file as its stdin and our pipe as its stdout. node:child_process dup()s
 * both into the child and leaves ours open, so the child reads the very inode we opened.
 */
function runDecompressor(program: string, stdin: number, stdout: number): { kill(): void; exited: Promise<Exit> } {
  const child = spawn(program, ['-d', '-c', '-q'], { stdio: [stdin, stdout, 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    if (stderr.length < 4096) stderr += chunk.toString('utf8');
  });
  const exited = new Promise<Exit>((resolve) => {
    child.on('error', (error: NodeJS.ErrnoException) =>
      resolve({ code: null, signal: null, stderr: error.message, missing: error.code === 'ENOENT' }),
    );
    child.on('close', (code, signal) => resolve({ code, signal, stderr, missing: false }));
  });
  return { kill: () => void child.kill('SIGKILL'), exited };
}

/**
 * How far into the file xz/zstd have read: they share our open file (dup'ed stdin), so its offset,
 * which /proc shows, is the archive bytes consumed. Undefined where /proc is not mounted.
 */
function consumedOffset(fd: number): number | undefined {
  try {
    const pos = /^pos:\s+(\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1];
    return pos === undefined ? undefined : Number(pos);
  } catch {
    return undefined;
  }
}

/** Parser complaints are plain Errors; the operator sees them as a bad payload (exit 4). */
export function asPayloadError(error: unknown): KataDeployError {
  if (error instanceof KataDeployError) return error;
  return new KataDeployError('bad-payload', `payload is not a valid tar archive: ${(error as Error).message}`, {
    hint: 'use an unmodified kata-static release tarball (.tar, .tar.gz, .tar.xz or .tar.zst)',
    cause: error,
  });
}

/** What a local unpack learnt beyond the archive: the identity of the very file it read. */
export interface LocalArchiveFacts extends ArchiveFacts {
  readonly identity: string;
}

/**
 * The fast path for a payload on local disk. The file is opened once and every byte (format sniffing,
 * checksum, decompression) comes from that one open file, so replacing the path mid-run cannot make us
 * verify one file and unpack another; a write into the file itself shows in its size or mtime, checked
 * at the end (not ctime: renaming the path away changes that too). xz and zstd read the fd as their
 * stdin (no copy through us) and write into a 1 MiB pipe that we drain with reused buffers, while the
 * checksum reads the same fd at explicit offsets; a plain tar is read the same way; gzip goes through
 * zlib. `onOpened` lets a test tamper with the path once the file is open; `onConsumed` hears the running
 * total of archive bytes read (for progress).
 */
export async function pumpLocalArchive(
  file: string,
  parser: TarParser,
  options: {
    hash: boolean;
    flow?: WriteFlow;
    onOpened?: () => void;
    onConsumed?: (bytes: number) => void;
    hashFile?: (fd: number) => Promise<string>;
    cancelHash?: () => void;
  },
): Promise<LocalArchiveFacts> {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    throw new KataDeployError('bad-payload', `cannot read the payload "${file}": ${(error as Error).message}`, {
      hint: 'check --payload',
      cause: error,
    });
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile())
      throw new KataDeployError('bad-payload', `the payload "${file}" is not a regular file`, {
        hint: 'check --payload',
      });
    options.onOpened?.();
    const facts = await pumpOpen(fd, file, parser, options);
    const after = fstatSync(fd);
    if (after.size !== stats.size || after.mtimeMs !== stats.mtimeMs) {
      throw new KataDeployError('bad-payload', `the payload "${file}" was written to while it was being read`, {
        hint: 'run again once nothing writes the payload file',
      });
    }
    return { ...facts, identity: fileIdentity(stats) };
  } finally {
    closeSync(fd);
  }
}

interface PumpOptions {
  readonly hash: boolean;
  readonly flow?: WriteFlow;
  readonly onConsumed?: (bytes: number) => void;
  readonly hashFile?: (fd: number) => Promise<string>;
  /** Ends a hashFile under way early: the unpack failed, its digest will not be read. */
  readonly cancelHash?: () => void;
}

/** What still reads the fd once the unpack has ended (or failed); it is closed only after they settle. */
interface FdReaders {
  readonly pending: (() => Promise<unknown>)[];
  readonly stop: { stopped: boolean };
}

async function pumpOpen(fd: number, file: string, parser: TarParser, options: PumpOptions): Promise<ArchiveFacts> {
  const readers: FdReaders = { pending: [], stop: { stopped: false } };
  try {
    return await pumpReading(fd, file, parser, options, readers);
  } finally {
    readers.stop.stopped = true;
    options.cancelHash?.();
    await Promise.allSettled(readers.pending.map((settled) => settled()));
  }
}

async function pumpReading(
  fd: number,
  file: string,
  parser: TarParser,
  options: PumpOptions,
  readers: FdReaders,
): Promise<ArchiveFacts> {
  const head = headOf(fd);
  if (head.length === 0)
    throw new KataDeployError('bad-payload', `the payload "${file}" is empty`, { hint: 'check --payload' });
  const compression = detectCompression(head);
  // Without koffi there is no pipe2 for the fd-to-fd decompressor: xz and zstd go through streams too.
  if (compression === 'gzip' || (compression !== 'tar' && !(await loadLibc()))) {
    const source = streamFrom(fd);
    readers.pending.push(source.settled);
    return pumpArchive(source.stream, parser, {
      hash: options.hash,
      backpressure: () => options.flow?.backpressure(),
      ...(options.onConsumed === undefined ? {} : { onBytes: options.onConsumed }),
    });
  }
  const hash = options.hash ? createHash('sha256') : undefined;
  let bytes = 0;
  let sha256: string | undefined;
  if (compression === 'tar') {
    const digest = hash === undefined ? undefined : options.hashFile?.(fd);
    digest?.catch(() => undefined);
    if (digest !== undefined) readers.pending.push(() => digest);
    try {
      bytes = await drain(
        fd,
        (chunk) => {
          if (digest === undefined) hash?.update(chunk);
          parser.push(chunk);
          bytes += chunk.length;
          options.onConsumed?.(bytes);
        },
        options.flow,
      );
      sha256 = digest === undefined ? hash?.digest('hex') : await digest;
    } catch (error) {
      throw asPayloadError(error);
    }
  } else {
    const program = compression === 'xz' ? 'xz' : 'zstd';
    const hashFile = options.hashFile ?? ((open: number) => hashAt(open, readers.stop));
    const digest = hash === undefined ? Promise.resolve(undefined) : hashFile(fd);
    digest.catch(() => undefined);
    readers.pending.push(() => digest);
    const [readFd, writeFd] = openPipe(CHUNK);
    let child: ReturnType<typeof runDecompressor>;
    try {
      child = runDecompressor(program, fd, writeFd);
    } finally {
      closeSync(writeFd);
    }
    try {
      const onConsumed = options.onConsumed;
      let chunks = 0;
      const pushed =
        onConsumed === undefined
          ? (chunk: Buffer) => parser.push(chunk)
          : (chunk: Buffer) => {
              parser.push(chunk);
              // Reading /proc for every 1 MiB chunk cost the unpack's thread ~2 %: progress needs far less.
              if (++chunks % PROGRESS_EVERY !== 0) return;
              const offset = consumedOffset(fd);
              if (offset !== undefined) onConsumed(offset);
            };
      await drain(readFd, pushed, options.flow);
      const offset = onConsumed === undefined ? undefined : consumedOffset(fd);
      if (offset !== undefined) onConsumed?.(offset);
    } catch (error) {
      child.kill();
      await child.exited;
      throw asPayloadError(error);
    } finally {
      closeSync(readFd);
    }
    const result = await child.exited;
    if (result.missing) {
      throw new KataDeployError(
        'bad-payload',
        `the payload is ${compression}-compressed but "${program}" is not installed`,
        { hint: `install ${program}, or use a .tar/.tar.gz payload` },
      );
    }
    if (result.code !== 0) {
      throw new KataDeployError(
        'bad-payload',
        `payload is not valid ${compression} data: ` +
          `${result.stderr.trim() || `${program} exited ${result.code ?? result.signal}`}`,
        {
          hint: 'the file may be truncated or corrupt; fetch the payload again',
        },
      );
    }
    bytes = fstatSync(fd).size;
    sha256 = await digest;
  }
  try {
    parser.finish();
  } catch (error) {
    throw asPayloadError(error);
  }
  return { compression, bytes, sha256 };
}
