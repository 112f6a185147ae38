import { KataDeployError } from '../core/errors.js';
import type { RestartOutcome } from './systemd-port.js';

/** A restart counts only when its job finished `done` and the unit is active (running) right after. */
export function restartSucceeded(outcome: RestartOutcome): boolean {
  return outcome.result === 'done' && outcome.state.activeState === 'active';
}

/**
 * The error to raise (and roll back on) for a restart that did not succeed, naming the unit, the job
 * result and the unit's state, so the operator sees at once whether it crashed, hung or was refused.
 */
export function restartFailure(outcome: RestartOutcome): KataDeployError | undefined {
  if (restartSucceeded(outcome)) return undefined;
  const { unit, result, elapsedMs, state } = outcome;
  const why =
    result === 'deadline'
      ? `its restart job was still running after ${elapsedMs} ms`
      : `its restart job ended '${result}'`;
  const exit =
    state.result !== '' && state.result !== 'success'
      ? `, result ${state.result}, exit status ${state.execMainStatus}`
      : '';
  return new KataDeployError(
    'restart-failed',
    `${unit} did not restart: ${why}; unit is ${state.activeState}/${state.subState}${exit}`,
    {
      hint: `see \`journalctl -u ${unit}\` on the host for the runtime's own error`,
    },
  );
}
