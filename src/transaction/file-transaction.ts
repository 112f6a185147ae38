import path from 'node:path';
import type { FileChange } from '../core/file-change.js';
import { isNoop } from '../core/file-change.js';
import type { Clock } from '../host/clock.js';
import type { HostFs } from '../host/host-fs.js';
import { changedWhileInstalling, sameBytes } from '../core/concurrent-edit.js';
import type { JournalEntry, Ledger, LedgerFile, LedgerStore, OriginalState } from './ledger.js';
import { sha256 } from '../core/digest.js';
import { removeLinks } from './shim-links.js';

/** What a restore put back, so the caller knows whether the runtime must re-read its config. */
export interface RestoreResult {
  readonly restored: readonly string[];
  readonly runtimeReadsChanged: boolean;
  /** Files left as they are: someone changed them since kata-deploy wrote them, so they are not ours to undo. */
  readonly left: readonly string[];
}

function digestOf(bytes: Buffer | undefined): string {
  return bytes === undefined ? 'absent' : sha256(bytes);
}

function stateDigest(state: OriginalState): string {
  return state.kind === 'absent' ? 'absent' : state.sha256;
}

/**
 * Applies planned file changes while keeping the ledger true at every instant. Before the first byte
 * of a file is written, two states are backed up and recorded: the file as it was before kata-deploy
 * ever touched it (for uninstall) and as it was when this run started (the journal, for rollback and
 * crash recovery). So a crash, a failed restart or an uninstall can always put every file back.
 */
export class FileTransaction {
  private current: Ledger;

  constructor(
    private readonly fs: HostFs,
    private readonly store: LedgerStore,
    ledger: Ledger,
    private readonly clock: Clock,
  ) {
    this.current = ledger;
  }

  get ledger(): Ledger {
    return this.current;
  }

  async update(patch: Partial<Omit<Ledger, 'schema' | 'updatedAt'>>): Promise<void> {
    this.current = await this.store.write({
      ...this.current,
      ...patch,
      updatedAt: new Date(this.clock.now()).toISOString(),
    });
  }

  private async missingDirs(hostPath: string): Promise<string[]> {
    const missing: string[] = [];
    for (
      let dir = path.posix.dirname(hostPath);
      dir !== '/' && !(await this.fs.exists(dir));
      dir = path.posix.dirname(dir)
    )
      missing.unshift(dir);
    return missing;
  }

  private async snapshot(hostPath: string): Promise<OriginalState> {
    const existing = await this.fs.readIfExists(hostPath);
    if (existing === undefined) return { kind: 'absent' };
    const stats = await this.fs.stat(hostPath);
    return { kind: 'present', sha256: await this.store.saveBackup(existing), mode: (stats?.mode ?? 0o644) & 0o7777 };
  }

  private async assertUnchanged(change: FileChange): Promise<void> {
    if (!sameBytes(await this.fs.readIfExists(change.path), change.before)) throw changedWhileInstalling(change.path);
  }

  /**
   * Writes every non-noop change, recording originals first; `runtimeReads` marks files the runtime
   * reads. A file that no longer holds the bytes its change was planned from (checked before the backup
   * and again just before the rename) is refused with exit 5: someone else wrote it meanwhile.
   */
  async apply(changes: readonly FileChange[], runtimeReads: boolean): Promise<string[]> {
    const todo = changes.filter((change) => !isNoop(change));
    if (todo.length === 0) return [];
    const files = [...this.current.files];
    const createdDirs = [...this.current.createdDirs];
    // Reads and writes of distinct files go out together: one by one, each await is a thread-pool round trip.
    await Promise.all(todo.map((change) => this.assertUnchanged(change)));
    const before = await Promise.all(
      todo.map((change) =>
        this.current.journal.some((entry) => entry.path === change.path) ? undefined : this.snapshot(change.path),
      ),
    );
    const intended = new Map(todo.map((change) => [change.path, digestOf(change.after)]));
    const journal = this.current.journal.map((entry) =>
      intended.has(entry.path) ? { ...entry, intended: intended.get(entry.path) } : entry,
    );
    const missing = await Promise.all(todo.map((change) => this.missingDirs(change.path)));
    for (const [index, change] of todo.entries()) {
      for (const dir of missing[index]!) if (!createdDirs.includes(dir)) createdDirs.push(dir);
      const known = files.find((file) => file.path === change.path);
      const tracked = known !== undefined;
      if (!journal.some((entry) => entry.path === change.path))
        journal.push({
          path: change.path,
          before: before[index]!,
          tracked,
          writtenBefore: known?.written,
          intended: intended.get(change.path),
        });
      if (!tracked)
        files.push({
          path: change.path,
          original: journal.find((entry) => entry.path === change.path)!.before,
          written: undefined,
          runtimeReads,
        });
    }
    await this.update({ files, createdDirs, journal });
    // Every change is journalled now, so any subset written (one write failed, or a crash) rolls back the same.
    const writes = todo.map(async (change) => {
      const expected = change.before ?? null;
      if (change.after === undefined) {
        await this.assertUnchanged(change);
        await this.fs.remove(change.path);
      } else {
        await this.fs.mkdirp(path.posix.dirname(change.path));
        await this.fs.writeFileAtomic(change.path, change.after, {
          ...(change.mode === undefined ? {} : { mode: change.mode }),
          expected,
        });
      }
    });
    const outcomes = await Promise.allSettled(writes);
    const failed = outcomes.find((outcome) => outcome.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    const written = new Map(
      todo.map((change) => [change.path, change.after === undefined ? 'absent' : sha256(change.after)]),
    );
    await this.update({
      files: files.map((file) => (written.has(file.path) ? { ...file, written: written.get(file.path) } : file)),
    });
    return todo.map((change) => change.path);
  }

  /** Ends the run: its changes stand, the journal is cleared. */
  async commit(patch: Partial<Omit<Ledger, 'schema' | 'updatedAt' | 'journal'>> = {}): Promise<void> {
    const shimLinks = (patch.shimLinks ?? this.current.shimLinks)?.map((link) => ({ ...link, committed: true }));
    await this.update({ ...patch, journal: [], ...(shimLinks === undefined ? {} : { shimLinks }) });
  }

  private async putBack(hostPath: string, state: OriginalState): Promise<boolean> {
    const now = await this.fs.readIfExists(hostPath);
    const same = state.kind === 'absent' ? now === undefined : now !== undefined && sha256(now) === state.sha256;
    if (same) return false;
    if (state.kind === 'absent') await this.fs.remove(hostPath);
    else {
      await this.fs.mkdirp(path.posix.dirname(hostPath));
      await this.fs.writeFileAtomic(hostPath, await this.store.loadBackup(state.sha256), { mode: state.mode });
    }
    return true;
  }

  /**
   * Undoes the run in progress (or a run that died): every journalled file back to its state at run
   * start — unless it holds neither that state nor what this run wrote (someone else wrote it during
   * the run): their bytes stand, and the file is reported as left.
   */
  async rollback(): Promise<RestoreResult> {
    const restored: string[] = [];
    const left: string[] = [];
    let runtimeReadsChanged = false;
    const journal: readonly JournalEntry[] = this.current.journal;
    for (const entry of [...journal].reverse()) {
      const now = digestOf(await this.fs.readIfExists(entry.path));
      if (entry.intended !== undefined && now !== stateDigest(entry.before) && now !== entry.intended) {
        left.push(entry.path);
        continue;
      }
      if (await this.putBack(entry.path, entry.before)) {
        restored.push(entry.path);
        runtimeReadsChanged ||= this.current.files.find((file) => file.path === entry.path)?.runtimeReads ?? false;
      }
    }
    const untracked = new Set(journal.filter((entry) => !entry.tracked).map((entry) => entry.path));
    const writtenBefore = new Map(
      journal.map((entry) => [entry.path, entry.writtenBefore ?? stateDigest(entry.before)]),
    );
    const files = this.current.files
      .filter((file) => !untracked.has(file.path))
      .map((file) => (writtenBefore.has(file.path) ? { ...file, written: writtenBefore.get(file.path) } : file));
    const shimLinks = await removeLinks(this.fs, this.current.shimLinks ?? [], (link) => !link.committed);
    await this.update({
      files,
      journal: [],
      ...(this.current.shimLinks === undefined ? {} : { shimLinks }),
    });
    await this.removeEmptyDirs();
    return { restored, runtimeReadsChanged, left };
  }

  /**
   * Puts files back as they were before kata-deploy first touched them (all, or those matching `which`).
   * A file whose bytes are neither what we last wrote nor its original was changed or replaced by
   * someone else since (an operator's own tree where ours was): it is left alone and reported.
   */
  async restoreOriginals(which: (file: LedgerFile) => boolean = () => true): Promise<RestoreResult> {
    const restored: string[] = [];
    let runtimeReadsChanged = false;
    const left: string[] = [];
    for (const file of [...this.current.files].reverse().filter(which)) {
      const now = digestOf(await this.fs.readIfExists(file.path));
      const original = stateDigest(file.original);
      if (file.written !== undefined && now !== file.written && now !== original) {
        left.push(file.path);
        continue;
      }
      if (await this.putBack(file.path, file.original)) {
        restored.push(file.path);
        runtimeReadsChanged ||= file.runtimeReads;
      }
    }
    await this.forget(which);
    return { restored, runtimeReadsChanged, left };
  }

  /** Stops tracking files (after another planner restored them), then removes directories left empty. */
  async forget(which: (file: LedgerFile) => boolean): Promise<void> {
    await this.update({ files: this.current.files.filter((file) => !which(file)) });
    await this.removeEmptyDirs();
  }

  private async removeEmptyDirs(): Promise<void> {
    const stillUsed = (dir: string) => this.current.files.some((file) => file.path.startsWith(`${dir}/`));
    const left: string[] = [];
    for (const dir of [...this.current.createdDirs].reverse()) {
      if (stillUsed(dir)) {
        left.unshift(dir);
        continue;
      }
      try {
        await this.fs.rmdir(dir);
      } catch {
        left.unshift(dir);
      }
    }
    await this.update({ createdDirs: left });
  }
}
