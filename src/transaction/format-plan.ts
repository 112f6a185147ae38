import { unifiedDiff } from '../core/unified-diff.js';
import type { InstallResult } from './install.js';

/**
 * The `--dry-run` report: what happens to the payload, every file's unified diff, the files added and
 * removed, and whether the runtime will restart and why — the same plan `install` then carries out.
 */
export function formatInstallPlan(result: InstallResult): string {
  const added = result.changes.filter((change) => change.before === undefined).map((change) => change.path);
  const removed = result.changes.filter((change) => change.after === undefined).map((change) => change.path);
  const lines = [
    `payload: ${result.payload.changed ? 'install' : 'already installed'} (sha256 ${result.payload.digest})`,
    `handlers: ${result.handlers.join(', ')}`,
    `files to add (${added.length}):`,
    ...added.map((file) => `  + ${file}`),
    `files to remove (${removed.length}):`,
    ...removed.map((file) => `  - ${file}`),
    `files to change (${result.changes.length - added.length - removed.length}):`,
    ...result.changes
      .filter((change) => change.before !== undefined && change.after !== undefined)
      .map((change) => `  ~ ${change.path}`),
    ...(result.shimLinks.length === 0
      ? []
      : [
          `shim links on the runtime's PATH (${result.shimLinks.length}; it ignores runtime_path):`,
          ...result.shimLinks.map((link) => `  @ ${link.path} -> ${link.target}`),
        ]),
    `runtime restart: ${result.restart.restart ? 'yes' : 'no'} (${result.restart.reason})`,
    '',
    ...result.changes.map((change) => `# ${change.reason}\n${unifiedDiff(change)}`),
  ];
  return `${lines.join('\n')}\n`;
}
