import type { Failpoint } from '../core/failpoints.js';
import type { Settings } from '../settings/settings.js';

export { FAILPOINTS, type Failpoint } from '../core/failpoints.js';

/**
 * Kills the process with SIGKILL at the named step when KATA_DEPLOY_TEST_FAILPOINT asks for it: the
 * crash tests' way to stop a real run at every step boundary. A no-op in normal runs.
 */
export function failpoint(settings: Pick<Settings, 'testFailpoint'>, step: Failpoint): void {
  if (settings.testFailpoint === step) process.kill(process.pid, 'SIGKILL');
}
