import type { JobResult, RestartOutcome, SystemdPort, UnitState } from '../../src/systemd/systemd-port.js';

/** One call the code under test made on the systemd port. */
export type SystemdCall =
  | { readonly op: 'reload' }
  | { readonly op: 'restart'; readonly unit: string; readonly deadlineMs: number }
  | { readonly op: 'signal'; readonly unit: string; readonly signal: number }
  | { readonly op: 'state'; readonly unit: string };

/**
 * A SystemdPort that records calls and answers restarts from a script (`done` by default), for
 * transaction tests that need a failing restart without a real systemd. Real-systemd behaviour is
 * covered by test/systemd against a throwaway node.
 */
export function recordingSystemd(restartResults: JobResult[] = []): SystemdPort & { readonly calls: SystemdCall[] } {
  const calls: SystemdCall[] = [];
  let invocation = 0;
  const last = new Map<string, JobResult>();
  const state = (unit: string, result: JobResult): UnitState => ({
    unit,
    loadState: 'loaded',
    activeState: result === 'done' ? 'active' : result === 'deadline' ? 'activating' : 'failed',
    subState: result === 'done' ? 'running' : result === 'deadline' ? 'start' : 'failed',
    result: result === 'done' || result === 'deadline' ? 'success' : 'exit-code',
    execMainStatus: result === 'done' || result === 'deadline' ? 0 : 1,
    mainPid: result === 'done' ? 1000 + invocation : 0,
    nRestarts: 0,
    invocationId: invocation.toString(16).padStart(32, '0'),
    execMainStartTimestampUs: invocation,
  });
  return {
    calls,
    async reload() {
      calls.push({ op: 'reload' });
    },
    async restartUnit(unit, deadlineMs): Promise<RestartOutcome> {
      calls.push({ op: 'restart', unit, deadlineMs });
      const result = restartResults.shift() ?? 'done';
      invocation += 1;
      last.set(unit, result);
      return {
        unit,
        job: `/org/freedesktop/systemd1/job/${invocation}`,
        result,
        elapsedMs: 0,
        state: state(unit, result),
      };
    },
    async unitState(unit) {
      calls.push({ op: 'state', unit });
      return state(unit, last.get(unit) ?? 'done');
    },
    async signalUnit(unit, signal) {
      calls.push({ op: 'signal', unit, signal });
    },
    close() {},
  };
}
