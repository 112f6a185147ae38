import {
  close,
  closeSync,
  constants,
  fchmod,
  fchmodSync,
  futimes,
  futimesSync,
  open,
  openSync,
  write,
  writeSync,
} from 'node:fs';
import { promisify } from 'node:util';
import { startWriteback } from './libc.js';
import { isCheckedExecutable, isKeptConfig } from './member-bytes.js';
import type { PayloadIndex } from './payload-index.js';
import type { EntrySink } from './tar-parser.js';

const openAsync = promisify(open);
const closeAsync = promisify(close);
const fchmodAsync = promisify(fchmod);
const futimesAsync = promisify(futimes);
const writeAsync = promisify(write);

/**
 * What a member's sink shares with the TreeWriter that made it: the writer's bookkeeping of the unpack's open
 * files, outstanding syscalls and first failure, and where the bytes it reads along the way go.
 */
export interface SinkHost {
  /** Staging dir; undefined for a dry run (null sink). */
  readonly root: string | undefined;
  readonly umask: number;
  readonly index: PayloadIndex;
  /** Each file's open(), by path relative to the install dir (a hardlink waits for its target's). */
  readonly opened: Map<string, Promise<number>>;
  readonly openFds: Set<number>;
  /** Settles once a file's bytes are all in staging: a duplicate is compared with them then. */
  readonly completed: Map<string, Promise<unknown>>;
  /** Digests of the files of a dry run, which has no staged bytes to compare a duplicate with. */
  readonly dryDigests: Map<string, string>;
  /** Counts an issued syscall as outstanding; its failure becomes the writer's. */
  track(operation: Promise<unknown>): void;
  /** Records the first failure of a synchronous syscall (the writer's settle() throws it). */
  recordFailure(error: unknown): void;
  failed(): boolean;
  keepConfig(rel: string, bytes: Buffer): void;
  readElf(rel: string, chunk: Buffer): void;
}

/** Writes all of a slice at its position, looping over short writes. */
async function writeAt(fd: number, chunk: Buffer, position: number): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) {
    const { bytesWritten } = await writeAsync(fd, chunk, offset, chunk.length - offset, position + offset);
    offset += bytesWritten;
  }
}

/** Writes all of a slice at its position with writeSync, looping over short writes. */
function writeAllSync(fd: number, chunk: Buffer, position: number): void {
  for (let offset = 0; offset < chunk.length; )
    offset += writeSync(fd, chunk, offset, chunk.length - offset, position + offset);
}

/** Files at least this big get their writeback started as soon as they are complete. */
const WRITEBACK_MIN = 1 << 20;

/** A file written through libuv's thread pool as positional writes, its close after the last one. */
export function fileSink(
  host: SinkHost,
  real: string,
  rel: string,
  mode: number,
  mtime: number,
  size: number,
): EntrySink {
  const opened = openAsync(
    real,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    mode,
  );
  host.opened.set(rel, opened);
  host.track(opened.then((fd) => void host.openFds.add(fd)));
  const keep = isKeptConfig(rel, size) ? ([] as Buffer[]) : undefined;
  const elf = isCheckedExecutable(rel);
  const needsChmod = (mode & (host.umask | 0o7000)) !== 0;
  const writes: Promise<void>[] = [];
  let position = 0;
  return {
    write: (chunk) => {
      if (position === 0 && elf) host.readElf(rel, chunk);
      keep?.push(Buffer.from(chunk));
      const at = position;
      position += chunk.length;
      const written = opened.then((fd) => writeAt(fd, chunk, at));
      writes.push(written);
      host.track(written);
    },
    end: () => {
      if (keep !== undefined) host.keepConfig(rel, Buffer.concat(keep));
      const closed = opened.then(async (fd) => {
        try {
          await Promise.all(writes);
          if (needsChmod) await fchmodAsync(fd, mode);
          await futimesAsync(fd, mtime, mtime);
          if (size >= WRITEBACK_MIN) await startWriteback(fd);
        } finally {
          host.openFds.delete(fd);
          await closeAsync(fd);
        }
      });
      host.completed.set(rel, closed);
      host.track(closed);
    },
  };
}

/**
 * A small file, written synchronously. A failing syscall is recorded, not thrown (the parser would
 * report it as a malformed archive): settle() throws it, like a failed write of a big file.
 */
export function smallFileSink(
  host: SinkHost,
  real: string,
  rel: string,
  mode: number,
  mtime: number,
  size: number,
): EntrySink {
  const keep = isKeptConfig(rel, size) ? ([] as Buffer[]) : undefined;
  const elf = isCheckedExecutable(rel);
  let fd: number | undefined;
  const attempt = (action: () => void): void => {
    if (host.failed()) return;
    try {
      action();
    } catch (error) {
      host.recordFailure(error);
    }
  };
  attempt(() => {
    const opened = openSync(
      real,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      mode,
    );
    host.openFds.add(opened);
    fd = opened;
  });
  host.opened.set(rel, Promise.resolve(fd ?? -1));
  let position = 0;
  return {
    write: (chunk) => {
      if (position === 0 && elf) host.readElf(rel, chunk);
      keep?.push(Buffer.from(chunk));
      const at = position;
      position += chunk.length;
      if (fd !== undefined) attempt(() => writeAllSync(fd!, chunk, at));
    },
    end: () => {
      if (keep !== undefined) host.keepConfig(rel, Buffer.concat(keep));
      if (fd === undefined) return;
      const open = fd;
      attempt(() => {
        if ((mode & (host.umask | 0o7000)) !== 0) fchmodSync(open, mode);
        futimesSync(open, mtime, mtime);
      });
      host.openFds.delete(open);
      attempt(() => closeSync(open));
    },
  };
}
