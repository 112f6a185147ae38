import { createHash, type Hash } from 'node:crypto';
import { chmodSync, closeSync, constants, fchmodSync, futimesSync, linkSync, mkdirSync, openSync, symlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { badPayload, judgeEntry, type PayloadLimits } from './entry-policy.js';
import { PayloadIndex } from './payload-index.js';
import type { EntrySink, TarEntry } from './tar-parser.js';

/** Small files kept in memory while unpacking: the pristine Kata configs the planners read. */
const KEEP = /^share\/defaults\/kata-containers\/.*\.toml$/;
const KEEP_LIMIT = 1 << 20;
/** Where the executables whose ELF machine we check live. */
const EXECUTABLE_DIRS = /^(bin|libexec|runtime-rs\/bin)\//;

/**
 * Writes accepted members into the staging dir with plain synchronous syscalls: one open, the
 * writes of each chunk as it arrives, fchmod, futimes, close. No per-file fsync (one syncfs before the
 * switch does that), no per-entry streams, no buffering of whole files. Judges every member first
 * (entry-policy, payload-index) so nothing refused is ever created.
 */
export class TreeWriter {
  readonly index: PayloadIndex;
  /** ELF `e_machine` of the executables, keyed by path relative to the install dir. */
  readonly elfMachines = new Map<string, number>();
  /** Contents of the pristine Kata configuration files. */
  readonly kept = new Map<string, Buffer>();
  private readonly dirs = new Set<string>(['.']);
  private readonly dirModes = new Map<string, number>();
  private openFd: number | undefined;

  constructor(private readonly root: string, private readonly limits: PayloadLimits) {
    this.index = new PayloadIndex(limits);
  }

  /** The TarParser callback. */
  readonly onEntry = (entry: TarEntry): EntrySink | undefined => {
    const accepted = judgeEntry(entry, this.limits);
    if (accepted === undefined) return undefined;
    const placement = this.index.place(entry.name, accepted);
    if (placement === 'skip') return undefined;
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
      case 'hardlink':
        this.ensureDir(path.posix.dirname(accepted.rel));
        linkSync(path.join(this.root, accepted.targetRel), real);
        return undefined;
      case 'file':
        this.ensureDir(path.posix.dirname(accepted.rel));
        return placement === 'compare-file'
          ? this.compareSink(entry.name, accepted.rel)
          : this.fileSink(real, accepted.rel, accepted.mode, accepted.mtime, accepted.size);
    }
  };

  /** Applies directory modes last (a read-only dir must not block its own children) and checks links. */
  finish(): void {
    this.index.checkLinks();
    for (const [rel, mode] of [...this.dirModes].sort((a, b) => b[0].length - a[0].length)) {
      chmodSync(path.join(this.root, rel), mode);
    }
  }

  /** Closes the file being written when unpacking stops half-way. */
  abort(): void {
    if (this.openFd !== undefined) closeSync(this.openFd);
    this.openFd = undefined;
  }

  private ensureDir(rel: string): void {
    if (this.dirs.has(rel)) return;
    mkdirSync(path.join(this.root, rel), { recursive: true, mode: 0o755 });
    for (let dir = rel; dir !== '.' && !this.dirs.has(dir); dir = path.posix.dirname(dir)) this.dirs.add(dir);
  }

  private fileSink(real: string, rel: string, mode: number, mtime: number, size: number): EntrySink {
    const fd = openSync(real, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    this.openFd = fd;
    const hash = createHash('sha256');
    const keep = KEEP.test(rel) && size <= KEEP_LIMIT ? [] as Buffer[] : undefined;
    const elf = EXECUTABLE_DIRS.test(rel);
    let first = true;
    return {
      write: (chunk) => {
        if (first && elf) this.readElf(rel, chunk);
        first = false;
        hash.update(chunk);
        keep?.push(Buffer.from(chunk));
        let offset = 0;
        while (offset < chunk.length) offset += writeSync(fd, chunk, offset, chunk.length - offset);
      },
      end: () => {
        fchmodSync(fd, mode);
        futimesSync(fd, mtime, mtime);
        closeSync(fd);
        this.openFd = undefined;
        this.index.setDigest(rel, hash.digest('hex'));
        if (keep !== undefined) this.kept.set(rel, Buffer.concat(keep));
      },
    };
  }

  /** A second copy of a file: hashed, not written, and refused unless it matches the first. */
  private compareSink(member: string, rel: string): EntrySink {
    const hash: Hash = createHash('sha256');
    return {
      write: (chunk) => void hash.update(chunk),
      end: () => {
        const node = this.index.nodes.get(rel);
        if (node?.kind !== 'file' || node.sha256 !== hash.digest('hex')) {
          throw badPayload(member, 'appears twice with different contents (conflicting duplicate)');
        }
      },
    };
  }

  private readElf(rel: string, chunk: Buffer): void {
    if (chunk.length < 20 || chunk.readUInt32BE(0) !== 0x7f454c46) return;
    this.elfMachines.set(rel, chunk[5] === 2 ? chunk.readUInt16BE(18) : chunk.readUInt16LE(18));
  }
}
