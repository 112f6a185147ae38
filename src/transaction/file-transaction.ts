import path from 'node:path';
import type { FileChange } from '../core/file-change.js';
import { isNoop } from '../core/file-change.js';
import type { Clock } from '../host/clock.js';
import type { HostFs } from '../host/host-fs.js';
import { type Ledger, type LedgerFile, type LedgerStore, sha256 } from './ledger.js';

/** What a restore put back, so the caller knows whether the runtime must re-read its config. */
export interface RestoreResult {
  readonly restored: readonly string[];
  readonly runtimeReadsChanged: boolean;
}

/**
 * Applies planned file changes while keeping the ledger true at every instant: originals are backed up
 * and recorded before the first byte is written, so a crash or a failed restart can always put every
 * file back exactly as it was.
 */
export class FileTransaction {
  private current: Ledger;

  constructor(private readonly fs: HostFs, private readonly store: LedgerStore, ledger: Ledger, private readonly clock: Clock) {
    this.current = ledger;
  }

  get ledger(): Ledger {
    return this.current;
  }

  async update(patch: Partial<Omit<Ledger, 'schema' | 'updatedAt'>>): Promise<void> {
    this.current = { ...this.current, ...patch, updatedAt: new Date(this.clock.now()).toISOString() };
    await this.store.write(this.current);
  }

  private async missingDirs(hostPath: string): Promise<string[]> {
    const missing: string[] = [];
    for (let dir = path.posix.dirname(hostPath); dir !== '/' && !(await this.fs.exists(dir)); dir = path.posix.dirname(dir)) missing.unshift(dir);
    return missing;
  }

  /** Writes every non-noop change, recording originals first; `runtimeReads` marks files the runtime reads. */
  async apply(changes: readonly FileChange[], runtimeReads: boolean): Promise<string[]> {
    const todo = changes.filter((change) => !isNoop(change));
    if (todo.length === 0) return [];
    const files = [...this.current.files];
    const createdDirs = [...this.current.createdDirs];
    for (const change of todo) {
      for (const dir of await this.missingDirs(change.path)) if (!createdDirs.includes(dir)) createdDirs.push(dir);
      if (files.some((file) => file.path === change.path)) continue;
      const existing = await this.fs.readIfExists(change.path);
      const stats = existing === undefined ? undefined : await this.fs.stat(change.path);
      const original = existing === undefined
        ? { kind: 'absent' as const }
        : { kind: 'present' as const, sha256: await this.store.saveBackup(existing), mode: (stats?.mode ?? 0o644) & 0o7777 };
      files.push({ path: change.path, original, written: undefined, runtimeReads });
    }
    await this.update({ files, createdDirs });
    for (const change of todo) {
      if (change.after === undefined) await this.fs.remove(change.path);
      else {
        await this.fs.mkdirp(path.posix.dirname(change.path));
        await this.fs.writeFileAtomic(change.path, change.after, change.mode === undefined ? {} : { mode: change.mode });
      }
    }
    const written = new Map(todo.map((change) => [change.path, change.after === undefined ? 'absent' : sha256(change.after)]));
    await this.update({ files: files.map((file) => (written.has(file.path) ? { ...file, written: written.get(file.path) } : file)) });
    return todo.map((change) => change.path);
  }

  /** Puts files back as they were before we first touched them (all of them, or those matching `which`). */
  async restore(which: (file: LedgerFile) => boolean = () => true): Promise<RestoreResult> {
    const restored: string[] = [];
    let runtimeReadsChanged = false;
    for (const file of [...this.current.files].reverse().filter(which)) {
      const now = await this.fs.readIfExists(file.path);
      const same = file.original.kind === 'absent' ? now === undefined : now !== undefined && sha256(now) === file.original.sha256;
      if (!same) {
        if (file.original.kind === 'absent') await this.fs.remove(file.path);
        else await this.fs.writeFileAtomic(file.path, await this.store.loadBackup(file.original.sha256), { mode: file.original.mode });
        restored.push(file.path);
        runtimeReadsChanged ||= file.runtimeReads;
      }
    }
    const keep = this.current.files.filter((file) => !which(file));
    await this.removeEmptyDirs(keep.length === 0);
    await this.update({ files: keep });
    return { restored, runtimeReadsChanged };
  }

  private async removeEmptyDirs(all: boolean): Promise<void> {
    if (!all) return;
    const left: string[] = [];
    for (const dir of [...this.current.createdDirs].reverse()) {
      const entries = await this.fs.readdir(dir).catch(() => undefined);
      if (entries === undefined) continue;
      if (entries.length === 0) await this.fs.remove(dir);
      else left.unshift(dir);
    }
    await this.update({ createdDirs: left });
  }
}
