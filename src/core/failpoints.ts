/**
 * The step boundaries where a crash test may kill an install or uninstall (`install:during-validation`:
 * while containerd's scratch copies of the config exist, before the first write).
 */
export type Failpoint =
  | 'install:during-validation'
  | 'install:after-ledger'
  | 'install:after-payload'
  | 'install:after-kata-configs'
  | 'install:after-runtime-config'
  | 'install:after-shim-links'
  | 'install:after-restart'
  | 'install:after-commit'
  | 'uninstall:after-runtime-config'
  | 'uninstall:after-restart'
  | 'uninstall:after-commit'
  | 'uninstall:after-kata-configs'
  | 'uninstall:after-payload';

/** Every failpoint, for settings validation and the crash tests. */
export const FAILPOINTS: readonly Failpoint[] = [
  'install:during-validation',
  'install:after-ledger',
  'install:after-payload',
  'install:after-kata-configs',
  'install:after-runtime-config',
  'install:after-shim-links',
  'install:after-restart',
  'install:after-commit',
  'uninstall:after-runtime-config',
  'uninstall:after-restart',
  'uninstall:after-commit',
  'uninstall:after-kata-configs',
  'uninstall:after-payload',
];
