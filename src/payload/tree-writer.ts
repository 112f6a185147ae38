import { createHash, type Hash } from 'node:crypto';
import {
  chmodSync,
  close,
  closeSync,
  constants,
  fchmod,
  fchmodSync,
  futimes,
  futimesSync,
  link,
  mkdirSync,
  open,
  openSync,
  readFileSync,
  symlinkSync,
  write,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { badPayload, judgeEntry, type PayloadLimits } from './entry-policy.js';
import { fileSha256 } from './entry-ownership.js';
import { elfMachineOf, isCheckedExecutable, isKeptConfig } from './member-bytes.js';
import { startWriteback } from './libc.js';
import { PayloadIndex } from './payload-index.js';
import { signatureOf } from './stat-signature.js';
import type { EntrySink, TarEntry } from './tar-parser.js';

const openAsync = promisify(open);
const closeAsync = promisify(close);
const fchmodAsync = promisify(fchmod);
const futimesAsync = promisify(futimes);
const linkAsync = promisify(link);
const writeAsync = promisify(write);

/** Writes all of a slice at its position, looping over short writes. */
async function writeAt(fd: number, chunk: Buffer, position: number): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) {
    const { bytesWritten } = await writeAsync(fd, chunk, offset, chunk.length - offset, position + offset);
    offset += bytesWritten;
  }
}

/**
 * The process's umask, read from /proc (process.umask() without an argument is deprecated); all bits
 * when unknown, so every file then gets its explicit chmod.
 */
export function processUmask(): number {
  try {
    const found = /^Umask:\s+([0-7]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    return found === undefined ? 0o777 : Number.parseInt(found, 8);
  } catch {
    return 0o777;
  }
}

/** Writes all of a slice at its position with writeSync, looping over short writes. */
function writeAllSync(fd: number, chunk: Buffer, position: number): void {
  for (let offset = 0; offset < chunk.length; )
    offset += writeSync(fd, chunk, offset, chunk.length - offset, position + offset);
}

/** Files at least this big get their writeback started as soon as they are complete. */
const WRITEBACK_MIN = 1 << 20;

/**
 * Files up to this size are written with plain syscalls on this thread, as their bytes arrive: four
 * thread-pool round trips (open, write, futimes, close) cost this thread more than the copy does.
 */
const SMALL_FILE = 64 << 10;

/** Outstanding writes beyond which the producer should wait (about this many chunks in memory). */
const HIGH_WATER = 64;

/**
 * Writes accepted members into the staging dir. Parsing and judging stay on the main thread; the
 * open/write/futimes/close syscalls go to libuv's thread pool as positional writes, so the kernel's
 * page-cache copying runs on the other cores while the next chunk is parsed (profiling showed writeSync
 * alone took 60% of the time). Files are not hashed: once the tree is complete, each file's stat
 * signature (inode, ctime) is what the manifest records, and the archive's own sha256 names the bytes.
 * The open() creates the file with its final mode (entry-policy clears group/other write, the bits a
 * usual umask strips); a mode the umask would change, or a sticky bit, still gets an explicit chmod. No per-file
 * fsync (one syncfs before the switch does that), no per-entry streams, no buffering of whole files.
 * Every member is judged first (entry-policy, payload-index), so nothing refused is ever created.
 */
export class TreeWriter {
  readonly index: PayloadIndex;
  /** ELF `e_machine` of the executables, keyed by path relative to the install dir. */
  readonly elfMachines = new Map<string, number>();
  /** Contents of the pristine Kata configuration files. */
  readonly kept = new Map<string, Buffer>();
  private readonly dirs = new Set<string>(['.']);
  private readonly dirModes = new Map<string, number>();
  private readonly opened = new Map<string, Promise<number>>();
  private readonly outstanding = new Set<Promise<unknown>>();
  private issued: Promise<unknown>[] = [];
  private failure: unknown;
  private readonly openFds = new Set<number>();
  /** Settles once a file's bytes are all in staging: a duplicate is compared with them then. */
  private readonly completed = new Map<string, Promise<unknown>>();
  /** Digests of the files of a dry run, which has no staged bytes to compare a duplicate with. */
  private readonly dryDigests = new Map<string, string>();
  /** Stat signatures of the staged files, by path; filled by finish(). */
  readonly signatures = new Map<string, string>();

  /**
   * `root` undefined makes a null sink: every member is judged, indexed and hashed, nothing is written
   * (--dry-run). `umask` is the process's (processUmask()), to tell the modes open() cannot set alone.
   * `onKept` hears each kept config as soon as its bytes are all read (its file may still be in flight).
   */
  constructor(
    private readonly root: string | undefined,
    private readonly limits: PayloadLimits,
    private readonly umask = 0o777,
    private readonly onKept?: (rel: string) => void,
  ) {
    this.index = new PayloadIndex(limits);
  }

  /** The TarParser callback. */
  readonly onEntry = (entry: TarEntry): EntrySink | undefined => {
    const accepted = judgeEntry(entry, this.limits);
    if (accepted === undefined) return undefined;
    const placement = this.index.place(entry.name, accepted);
    if (placement === 'skip') return undefined;
    if (this.root === undefined)
      return accepted.kind === 'file'
        ? this.validateSink(entry.name, accepted.rel, placement === 'compare-file', accepted.size)
        : undefined;
    const real = path.join(this.root, accepted.rel);
    switch (accepted.kind) {
      case 'directory':
        this.ensureDir(accepted.rel);
        this.dirModes.set(accepted.rel, accepted.mode);
        return undefined;
      case 'symlink':
        this.ensureDir(path.posix.dirname(accepted.rel));
        symlinkSync(accepted.target, real);
        return undefined;
      case 'hardlink': {
        this.ensureDir(path.posix.dirname(accepted.rel));
        const target = this.opened.get(accepted.targetRel) ?? Promise.resolve(0);
        const linked = target.then(() => linkAsync(path.join(this.root!, accepted.targetRel), real));
        this.completed.set(accepted.rel, Promise.all([linked, this.completed.get(accepted.targetRel)]));
        this.track(linked);
        return undefined;
      }
      case 'file':
        this.ensureDir(path.posix.dirname(accepted.rel));
        return placement === 'compare-file'
          ? this.compareSink(entry.name, accepted.rel)
          : accepted.size <= SMALL_FILE
            ? this.smallFileSink(real, accepted.rel, accepted.mode, accepted.mtime, accepted.size)
            : this.fileSink(real, accepted.rel, accepted.mode, accepted.mtime, accepted.size);
    }
  };

  /** The writes issued since the last call: a chunk's buffer may be reused once these settle. */
  takeIssued(): Promise<unknown>[] {
    const issued = this.issued;
    this.issued = [];
    return issued;
  }

  /** Resolves when the producer may continue: undefined when few writes are outstanding. */
  backpressure(): Promise<void> | undefined {
    if (this.outstanding.size < HIGH_WATER) return undefined;
    return Promise.race(this.outstanding).then(() => undefined);
  }

  /** Waits for every issued syscall; throws the first failure. Also used to quiesce before cleanup. */
  async settle(): Promise<void> {
    while (this.outstanding.size > 0) await Promise.all([...this.outstanding]);
    if (this.failure !== undefined) throw this.failure;
  }

  /**
   * Applies directory modes last (a read-only dir must not block its own children), checks links, and
   * records each file's stat signature now that nothing will touch it again (a hardlink moves ctime).
   */
  async finish(): Promise<void> {
    await this.settle();
    this.index.checkLinks();
    if (this.root === undefined) return;
    for (const [rel, mode] of [...this.dirModes].sort((a, b) => b[0].length - a[0].length)) {
      chmodSync(path.join(this.root, rel), mode);
    }
    for (const [rel, node] of this.index.nodes) {
      const signature = node.kind === 'file' ? signatureOf(path.join(this.root, rel)) : undefined;
      if (signature !== undefined) this.signatures.set(rel, signature);
    }
  }

  /** After a failure: lets issued syscalls finish and closes files left open, so staging can be removed. */
  async abandon(): Promise<void> {
    await this.settle().catch(() => undefined);
    for (const fd of this.openFds) await closeAsync(fd).catch(() => undefined);
    this.openFds.clear();
  }

  private track<T>(operation: Promise<T>): void {
    const tracked = operation.then(
      () => undefined,
      (error: unknown) => {
        this.failure ??= error;
      },
    );
    this.outstanding.add(tracked);
    this.issued.push(tracked);
    void tracked.finally(() => this.outstanding.delete(tracked));
  }

  private ensureDir(rel: string): void {
    if (this.dirs.has(rel)) return;
    mkdirSync(path.join(this.root!, rel), { recursive: true, mode: 0o755 });
    for (let dir = rel; dir !== '.' && !this.dirs.has(dir); dir = path.posix.dirname(dir)) this.dirs.add(dir);
  }

  private fileSink(real: string, rel: string, mode: number, mtime: number, size: number): EntrySink {
    const opened = openAsync(
      real,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      mode,
    );
    this.opened.set(rel, opened);
    this.track(opened.then((fd) => void this.openFds.add(fd)));
    const keep = isKeptConfig(rel, size) ? ([] as Buffer[]) : undefined;
    const elf = isCheckedExecutable(rel);
    const needsChmod = (mode & (this.umask | 0o7000)) !== 0;
    const writes: Promise<void>[] = [];
    let position = 0;
    return {
      write: (chunk) => {
        if (position === 0 && elf) this.readElf(rel, chunk);
        keep?.push(Buffer.from(chunk));
        const at = position;
        position += chunk.length;
        const written = opened.then((fd) => writeAt(fd, chunk, at));
        writes.push(written);
        this.track(written);
      },
      end: () => {
        if (keep !== undefined) this.keepConfig(rel, Buffer.concat(keep));
        const closed = opened.then(async (fd) => {
          try {
            await Promise.all(writes);
            if (needsChmod) await fchmodAsync(fd, mode);
            await futimesAsync(fd, mtime, mtime);
            if (size >= WRITEBACK_MIN) await startWriteback(fd);
          } finally {
            this.openFds.delete(fd);
            await closeAsync(fd);
          }
        });
        this.completed.set(rel, closed);
        this.track(closed);
      },
    };
  }

  /**
   * A small file, written synchronously. A failing syscall is recorded, not thrown (the parser would
   * report it as a malformed archive): settle() throws it, like a failed write of a big file.
   */
  private smallFileSink(real: string, rel: string, mode: number, mtime: number, size: number): EntrySink {
    const keep = isKeptConfig(rel, size) ? ([] as Buffer[]) : undefined;
    const elf = isCheckedExecutable(rel);
    let fd: number | undefined;
    const attempt = (action: () => void): void => {
      if (this.failure !== undefined) return;
      try {
        action();
      } catch (error) {
        this.failure = error;
      }
    };
    attempt(() => {
      const opened = openSync(
        real,
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
        mode,
      );
      this.openFds.add(opened);
      fd = opened;
    });
    this.opened.set(rel, Promise.resolve(fd ?? -1));
    let position = 0;
    return {
      write: (chunk) => {
        if (position === 0 && elf) this.readElf(rel, chunk);
        keep?.push(Buffer.from(chunk));
        const at = position;
        position += chunk.length;
        if (fd !== undefined) attempt(() => writeAllSync(fd!, chunk, at));
      },
      end: () => {
        if (keep !== undefined) this.keepConfig(rel, Buffer.concat(keep));
        if (fd === undefined) return;
        const open = fd;
        attempt(() => {
          if ((mode & (this.umask | 0o7000)) !== 0) fchmodSync(open, mode);
          futimesSync(open, mtime, mtime);
        });
        this.openFds.delete(open);
        attempt(() => closeSync(open));
      },
    };
  }

  /** A file in a dry run: hashed and read like fileSink (digest, ELF machine, kept configs), never written. */
  private validateSink(member: string, rel: string, duplicate: boolean, size: number): EntrySink {
    if (duplicate) return this.compareSink(member, rel);
    const hash = createHash('sha256');
    const keep = isKeptConfig(rel, size) ? ([] as Buffer[]) : undefined;
    let first = true;
    return {
      write: (chunk) => {
        if (first && isCheckedExecutable(rel)) this.readElf(rel, chunk);
        first = false;
        hash.update(chunk);
        keep?.push(Buffer.from(chunk));
      },
      end: () => {
        this.dryDigests.set(rel, hash.digest('hex'));
        if (keep !== undefined) this.keepConfig(rel, Buffer.concat(keep));
      },
    };
  }

  /**
   * A second copy of a file: hashed (here: duplicates are rare), not written, and refused unless its
   * bytes match the first copy's, read back from staging once those are all written.
   */
  private compareSink(member: string, rel: string): EntrySink {
    const hash: Hash = createHash('sha256');
    const conflict = () => badPayload(member, 'appears twice with different contents (conflicting duplicate)');
    return {
      write: (chunk) => void hash.update(chunk),
      end: () => {
        const node = this.index.nodes.get(rel);
        if (node?.kind !== 'file') throw conflict();
        const own = hash.digest('hex');
        const first = node.linkedFrom ?? rel;
        if (this.root === undefined) {
          if (this.dryDigests.get(first) !== own) throw conflict();
          return;
        }
        const root = this.root;
        this.track(
          Promise.resolve(this.completed.get(first)).then(() => {
            if (fileSha256(path.join(root, first)) !== own) throw conflict();
          }),
        );
      },
    };
  }

  private keepConfig(rel: string, bytes: Buffer): void {
    this.kept.set(rel, bytes);
    this.onKept?.(rel);
  }

  private readElf(rel: string, chunk: Buffer): void {
    const machine = elfMachineOf(chunk);
    if (machine !== undefined) this.elfMachines.set(rel, machine);
  }
}
