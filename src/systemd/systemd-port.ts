/**
 * How a systemd job ended: systemd's own JobRemoved results, plus `deadline` when we stopped waiting
 * (the job may still be running; the unit state says where it was).
 */
export type JobResult = 'done' | 'canceled' | 'timeout' | 'failed' | 'dependency' | 'skipped' | 'deadline';

/** The unit properties an operator needs to see when a restart went wrong, read right after the job. */
export interface UnitState {
  readonly unit: string;
  /** `loaded`, `not-found`, `masked`, … */
  readonly loadState: string;
  /** `active`, `activating`, `failed`, `inactive`, … */
  readonly activeState: string;
  readonly subState: string;
  /** The service's `Result` (`success`, `exit-code`, `start-limit-hit`, …); '' for non-service units. */
  readonly result: string;
  /** Exit status of the main process's last run (0 while it runs). */
  readonly execMainStatus: number;
  readonly mainPid: number;
  /** Automatic restarts by `Restart=`; not our restarts, those show as a new invocationId. */
  readonly nRestarts: number;
  /** Changes on every start of the unit: the proof a restart really happened. */
  readonly invocationId: string;
  /** CLOCK_REALTIME µs of the main process's last start, 0 if never started. */
  readonly execMainStartTimestampUs: number;
}

/** What a restart did: the job's result and the unit's state right after. */
export interface RestartOutcome {
  readonly unit: string;
  readonly job: string;
  readonly result: JobResult;
  readonly elapsedMs: number;
  readonly state: UnitState;
}

/**
 * The systemd operations an install needs, over systemd's private D-Bus socket. A port so the
 * transaction can be tested against a real user manager or a recorded fake.
 */
export interface SystemdPort {
  /** `systemctl daemon-reload`: needed only when a unit file or drop-in changed. Resolves when done. */
  reload(): Promise<void>;
  /** `RestartUnit(unit, "replace")`, then waits for that job's JobRemoved until `deadlineMs` elapses. */
  restartUnit(unit: string, deadlineMs: number): Promise<RestartOutcome>;
  /** The unit's current state (loads the unit if systemd has not yet). */
  unitState(unit: string): Promise<UnitState>;
  /** Sends a signal to the unit's main process (CRI-O reloads its config on SIGHUP). */
  signalUnit(unit: string, signal: number): Promise<void>;
  close(): void;
}
