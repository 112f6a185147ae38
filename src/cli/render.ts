import type { InstallResult } from '../transaction/install.js';
import type { StatusReport } from '../transaction/status.js';
import type { UninstallResult } from '../transaction/uninstall.js';

/** An install result as JSON for `--json`: file changes by path and action, never their bytes. */
export function installJson(result: InstallResult): unknown {
  return {
    ok: true,
    ...result,
    changes: result.changes.map((change) => ({
      path: change.path,
      action: change.before === undefined ? 'add' : change.after === undefined ? 'remove' : 'change',
      reason: change.reason,
    })),
  };
}

/** A short human account of an install. */
export function installText(result: InstallResult): string {
  const restart = result.restart.performed
    ? `restarted (${result.restart.reason})`
    : `not restarted (${result.restart.reason})`;
  const ready =
    result.readiness === undefined
      ? 'not checked'
      : result.readiness.ready
        ? `live after ${result.readiness.elapsedMs} ms`
        : `NOT live: ${result.readiness.reason}`;
  return [
    `handlers: ${result.handlers.join(', ')}`,
    `payload:  ${result.payload.changed ? 'installed' : 'unchanged'} (${result.payload.digest})`,
    `files:    ${result.changes.length} written`,
    ...(result.shimLinks.length === 0 ? [] : [`links:    ${result.shimLinks.map((link) => link.path).join(', ')}`]),
    `runtime:  ${restart}`,
    `handlers: ${ready}`,
    '',
  ].join('\n');
}

/** A short human account of an uninstall. */
export function uninstallText(result: UninstallResult): string {
  if (result.nothingInstalled) return 'nothing was installed; nothing changed\n';
  return [
    `restored/removed files: ${result.restoredFiles.length}`,
    `payload files removed:  ${result.removedPayloadFiles}`,
    `runtime:                ${result.restarted ? 'restarted' : 'not restarted'}`,
    '',
  ].join('\n');
}

/** The status report for people. */
export function statusText(report: StatusReport): string {
  if (!report.installed)
    return `not installed${report.live.answered ? ` (runtime serves: ${report.live.handlers.join(', ')})` : ''}\n`;
  const source = report.payloadSource === undefined ? '' : ` from ${report.payloadSource}`;
  const liveness = (name: string) => (report.live.missing.includes(name) ? ' (NOT live)' : ' (live)');
  return [
    `phase:    ${report.phase}`,
    `payload:  ${report.payloadDigest ?? 'none'}${source}`,
    `shims:    ${report.shims.join(', ') || 'unknown'}`,
    `handlers: ${report.handlers.map((name) => `${name}${liveness(name)}`).join(', ')}`,
    `files:    ${report.files.length} (${report.files.filter((file) => file.state !== 'as-written').length} drifted)`,
    ...report.launch.map((shim) => `launch:   ${shim.handler} ${shim.reason}`),
    ...report.drift.map((line) => `drift:    ${line}`),
    `healthy:  ${report.healthy ? 'yes' : 'no'}`,
    '',
  ].join('\n');
}
