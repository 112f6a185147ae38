import type { Settings } from '../settings/settings.js';

/** The step boundaries where a crash test may kill an install or uninstall. */
export type Failpoint =
  | 'install:after-ledger' | 'install:after-payload' | 'install:after-kata-configs' | 'install:after-runtime-config'
  | 'install:after-restart' | 'install:after-commit'
  | 'uninstall:after-runtime-config' | 'uninstall:after-restart' | 'uninstall:after-commit' | 'uninstall:after-kata-configs'
  | 'uninstall:after-payload';

export const FAILPOINTS: readonly Failpoint[] = [
  'install:after-ledger', 'install:after-payload', 'install:after-kata-configs', 'install:after-runtime-config',
  'install:after-restart', 'install:after-commit',
  'uninstall:after-runtime-config', 'uninstall:after-restart', 'uninstall:after-commit', 'uninstall:after-kata-configs',
  'uninstall:after-payload',
];

/**
 * Kills the process with SIGKILL at the named step when KATA_DEPLOY_TEST_FAILPOINT asks for it: the
 * crash tests' way to stop a real run at every step boundary. A no-op in normal runs.
 */
export function failpoint(settings: Pick<Settings, 'testFailpoint'>, step: Failpoint): void {
  if (settings.testFailpoint === step) process.kill(process.pid, 'SIGKILL');
}
