/**
 * One host file as a plan wants it: its bytes before and after (undefined = absent). Every planner
 * (runtime config, Kata configs) returns these; only the step runner writes them, recording each in the
 * ledger, and `--dry-run` prints them as unified diffs.
 */
export interface FileChange {
  readonly path: string;
  readonly before: Buffer | undefined;
  readonly after: Buffer | undefined;
  /** Mode for a created file (default 0644). */
  readonly mode?: number;
  /** Why the plan wants this change, for dry-run output and logs. */
  readonly reason: string;
  /** Set when the result could not be proven acceptable to the runtime (say why); such a change is not restarted on. */
  readonly unproven?: string;
}

/** True when a change would leave the file as it is. */
export function isNoop(change: FileChange): boolean {
  if (change.before === undefined || change.after === undefined) return change.before === change.after;
  return change.before.equals(change.after);
}
