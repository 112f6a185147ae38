import { sha256 } from '../core/digest.js';
import { KataDeployError } from '../core/errors.js';
import type { HostFs } from '../host/host-fs.js';
import { isBackupDigest, readOwnBackup } from './backup-file.js';
import type { ShimLinkRecord } from './shim-links.js';

/** What a file was before our first write to it: its bytes' digest and mode, or absent. */
export type OriginalState =
  | { readonly kind: 'absent' }
  | { readonly kind: 'present'; readonly sha256: string; readonly mode: number };

/** One host file we touched, with what uninstall or a rollback needs to put it back. */
export interface LedgerFile {
  readonly path: string;
  readonly original: OriginalState;
  /** sha256 of the bytes we last wrote, or undefined while a write is in flight. */
  readonly written: string | undefined;
  /** True for files the runtime (containerd, CRI-O) reads: changing them needs a restart. */
  readonly runtimeReads: boolean;
}

/** A file's state when the current run started, so a failed run can be undone to exactly that point. */
export interface JournalEntry {
  readonly path: string;
  readonly before: OriginalState;
  /** Whether the ledger already tracked the file before this run. */
  readonly tracked: boolean;
  /** The ledger's `written` for a tracked file when this run started: what a rollback makes it again. */
  readonly writtenBefore?: string | undefined;
  /** Digest of the bytes this run writes (`absent` for a removal): a rollback undoes only those bytes. */
  readonly intended?: string | undefined;
}

/** Where an install or uninstall stands; a run that finds `installing` or `uninstalling` was interrupted. */
export type LedgerPhase = 'installing' | 'installed' | 'uninstalling';

/**
 * The record of one install on this node, kept in the state dir: every file we created or changed (with
 * a backup of the original), the runtime-config record uninstall needs, and the handlers we promised.
 */
export interface Ledger {
  readonly schema: 1;
  readonly phase: LedgerPhase;
  readonly files: readonly LedgerFile[];
  /** Directories we created (deepest last), removed on uninstall when empty. */
  readonly createdDirs: readonly string[];
  /** Files the run in progress changed; empty between runs. A non-empty journal means a run died. */
  readonly journal: readonly JournalEntry[];
  readonly handlers: readonly string[];
  readonly runtimeConfig: unknown;
  readonly payloadDigest: string | undefined;
  /** Where the installed payload came from (path or URL) and the shims it was installed for. */
  readonly payloadSource?: string;
  readonly shims?: readonly string[];
  /** Ancestors of the state dir that did not exist before our first write (removed with it when empty). */
  readonly createdStateDirs: readonly string[];
  /** Shim links on the runtime's PATH (runtimes that ignore runtime_path); absent in older ledgers. */
  readonly shimLinks?: readonly ShimLinkRecord[];
  readonly updatedAt: string;
}

/** The payload the ledger says an install committed, which a half-done switch is finished towards. */
export function committedPayloadDigest(ledger: Ledger | undefined): string | undefined {
  return ledger?.phase === 'installed' && ledger.journal.length === 0 ? ledger.payloadDigest : undefined;
}

/** Whether a run changed the host and has not committed: journalled files, or shim links not yet committed. */
export function runInProgress(ledger: Ledger): boolean {
  return ledger.journal.length > 0 || (ledger.shimLinks ?? []).some((link) => !link.committed);
}

/** A ledger for a node kata-deploy never touched. */
export function emptyLedger(now: Date): Ledger {
  return {
    schema: 1,
    phase: 'installing',
    files: [],
    createdDirs: [],
    journal: [],
    handlers: [],
    runtimeConfig: undefined,
    payloadDigest: undefined,
    createdStateDirs: [],
    updatedAt: now.toISOString(),
  };
}

/**
 * Reads and writes the ledger and the content-addressed backups beside it. Backups are written (and
 * fsynced by the atomic write) before the file they back up is touched, so a crash never loses an
 * operator's original.
 */
export class LedgerStore {
  constructor(
    private readonly fs: HostFs,
    readonly dir: string,
  ) {}

  get path(): string {
    return `${this.dir}/ledger.json`;
  }

  async read(): Promise<Ledger | undefined> {
    const raw = await this.fs.readIfExists(this.path);
    if (raw === undefined) return undefined;
    let parsed: Ledger;
    try {
      parsed = JSON.parse(raw.toString('utf8')) as Ledger;
    } catch (error) {
      throw new KataDeployError('internal', `${this.path} is not valid JSON`, {
        hint: 'restore it from a backup or remove it after checking /var/lib/kata-deploy by hand',
        cause: error,
      });
    }
    if (parsed.schema !== 1)
      throw new KataDeployError('internal', `${this.path} has unknown schema ${String(parsed.schema)}`, {
        hint: 'it was written by a newer kata-deploy; uninstall with that version',
      });
    return parsed;
  }

  private createdAncestors: string[] = [];

  /** Creates the state dir (0700) and remembers which of its ancestors did not exist. */
  private async ensureDir(): Promise<void> {
    if (await this.fs.exists(this.dir)) return;
    const created: string[] = [];
    for (
      let dir = this.dir.slice(0, this.dir.lastIndexOf('/'));
      dir !== '' && !(await this.fs.exists(dir));
      dir = dir.slice(0, dir.lastIndexOf('/'))
    )
      created.unshift(dir);
    for (const dir of created) await this.fs.mkdirp(dir, 0o755);
    await this.fs.mkdirp(this.dir, 0o700);
    this.createdAncestors.push(...created);
  }

  /** Writes the ledger, recording the ancestors of the state dir that our first write created. */
  async write(ledger: Ledger): Promise<Ledger> {
    await this.ensureDir();
    const written =
      this.createdAncestors.length === 0
        ? ledger
        : { ...ledger, createdStateDirs: [...new Set([...(ledger.createdStateDirs ?? []), ...this.createdAncestors])] };
    await this.fs.writeFileAtomic(this.path, `${JSON.stringify(written, null, 2)}\n`, { mode: 0o600 });
    return written;
  }

  /** Removes the state dir, and the ancestors our first write created once they are empty. */
  async remove(ledger?: Ledger): Promise<void> {
    const created = ledger?.createdStateDirs ?? (await this.read().catch(() => undefined))?.createdStateDirs ?? [];
    await this.fs.remove(this.dir);
    for (const dir of [...created].reverse()) {
      if ((await this.fs.readdir(dir).catch(() => ['?'])).length === 0) await this.fs.remove(dir);
    }
  }

  backupPath(digest: string): string {
    return `${this.dir}/backups/${digest}`;
  }

  async saveBackup(bytes: Buffer): Promise<string> {
    const digest = sha256(bytes);
    const target = this.backupPath(digest);
    if (!(await this.fs.exists(target))) {
      await this.ensureDir();
      await this.fs.mkdirp(`${this.dir}/backups`, 0o700);
      await this.fs.writeFileAtomic(target, bytes, { mode: 0o600 });
    }
    return digest;
  }

  async loadBackup(digest: string): Promise<Buffer> {
    if (!isBackupDigest(digest))
      throw new KataDeployError(
        'config-refused',
        `${this.path} names a backup "${String(digest)}" that is not a sha256`,
        {
          hint: 'nothing was restored; the ledger was edited or planted: inspect the state dir by hand',
        },
      );
    const dir = await this.fs.realPath(`${this.dir}/backups`);
    const bytes = readOwnBackup(`${dir}/${digest}`, this.backupPath(digest));
    if (bytes === undefined || sha256(bytes) !== digest) {
      throw new KataDeployError('internal', `backup ${this.backupPath(digest)} is missing or damaged`, {
        hint: 'the original file cannot be restored automatically; restore it from your configuration management',
      });
    }
    return bytes;
  }
}
