import { createHash } from 'node:crypto';
import type { ConfigValidator, ValidationResult } from './validator.js';

/** One candidate config set, by content: the main file and every file's path and bytes. */
export function candidateKey(mainConfigPath: string, files: ReadonlyMap<string, Buffer | undefined>): string {
  const hash = createHash('sha256').update(mainConfigPath);
  for (const [hostPath, bytes] of [...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    hash.update(`\0${hostPath}\0${bytes === undefined ? '-' : bytes.length}\0`);
    if (bytes !== undefined) hash.update(bytes);
  }
  return hash.digest('hex');
}

/**
 * A validator that runs containerd once per distinct candidate: asking early (`prefetch`) starts the
 * run so two validations overlap, and asking twice for the same files (a plan whose edits are all
 * no-ops, as on a converged reinstall) reuses the first verdict. One instance per plan: the verdict
 * belongs to the binary and the files, both fixed for its lifetime.
 */
export class SharedValidations implements ConfigValidator {
  private readonly runs = new Map<string, Promise<ValidationResult>>();

  constructor(private readonly validator: ConfigValidator) {}

  validate(mainConfigPath: string, files: ReadonlyMap<string, Buffer | undefined>): Promise<ValidationResult> {
    const key = candidateKey(mainConfigPath, files);
    let run = this.runs.get(key);
    if (run === undefined) {
      run = this.validator.validate(mainConfigPath, files);
      this.runs.set(key, run);
    }
    return run;
  }

  /** Starts a validation whose verdict a later `validate` of the same files will read. */
  prefetch(mainConfigPath: string, files: ReadonlyMap<string, Buffer | undefined>): void {
    this.validate(mainConfigPath, files).catch(() => undefined);
  }

  /** Waits for every run started, so no containerd process or scratch dir outlives the plan. */
  async settled(): Promise<void> {
    await Promise.allSettled(this.runs.values());
  }
}
