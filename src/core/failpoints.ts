/** The step boundaries where a crash test may kill an install or uninstall. */
export type Failpoint =
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
