import { chmodSync, close, link, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { compareSink, validateSink } from './check-sinks.js';
import { judgeEntry, type PayloadLimits } from './entry-policy.js';
import { fileSink, smallFileSink, type SinkHost } from './file-sinks.js';
import { elfMachineOf } from './member-bytes.js';
import { PayloadIndex } from './payload-index.js';
import { signatureOf } from './stat-signature.js';
import type { EntrySink, TarEntry } from './tar-parser.js';

const closeAsync = promisify(close);
const linkAsync = promisify(link);

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
  /** What the member sinks (file-sinks.ts, check-sinks.ts) share of this writer. */
  private readonly host: SinkHost;

  /**
   * `root` undefined makes a null sink: every member is judged, indexed and hashed, nothing is written
   * (--dry-run). `umask` is the process's (processUmask()), to tell the modes open() cannot set alone.
   * `onKept` hears each kept config as soon as its bytes are all read (its file may still be in flight).
   */
  constructor(
    private readonly root: string | undefined,
    private readonly limits: PayloadLimits,
    umask = 0o777,
    private readonly onKept?: (rel: string) => void,
  ) {
    this.index = new PayloadIndex(limits);
    this.host = {
      root,
      umask,
      index: this.index,
      opened: this.opened,
      openFds: this.openFds,
      completed: this.completed,
      dryDigests: this.dryDigests,
      track: (operation) => this.track(operation),
      recordFailure: (error) => {
        this.failure ??= error;
      },
      failed: () => this.failure !== undefined,
      keepConfig: (rel, bytes) => this.keepConfig(rel, bytes),
      readElf: (rel, chunk) => this.readElf(rel, chunk),
    };
  }

  /** The TarParser callback. */
  readonly onEntry = (entry: TarEntry): EntrySink | undefined => {
    const accepted = judgeEntry(entry, this.limits);
    if (accepted === undefined) return undefined;
    const placement = this.index.place(entry.name, accepted);
    if (placement === 'skip') return undefined;
    if (this.root === undefined)
      return accepted.kind === 'file'
        ? validateSink(this.host, entry.name, accepted.rel, placement === 'compare-file', accepted.size)
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
          ? compareSink(this.host, entry.name, accepted.rel)
          : accepted.size <= SMALL_FILE
            ? smallFileSink(this.host, real, accepted.rel, accepted.mode, accepted.mtime, accepted.size)
            : fileSink(this.host, real, accepted.rel, accepted.mode, accepted.mtime, accepted.size);
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

  private keepConfig(rel: string, bytes: Buffer): void {
    this.kept.set(rel, bytes);
    this.onKept?.(rel);
  }

  private readElf(rel: string, chunk: Buffer): void {
    const machine = elfMachineOf(chunk);
    if (machine !== undefined) this.elfMachines.set(rel, machine);
  }
}
