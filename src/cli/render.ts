import type { InstallResult } from '../transaction/install.js';
import type { StatusReport } from '../transaction/status.js';
import type { UninstallResult } from '../transaction/uninstall.js';
import { formatTable } from './table.js';

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
  if (result.nothingInstalled && result.removedLeftovers.length > 0)
    return `nothing was installed; removed what an interrupted install left: ${result.removedLeftovers.join(', ')}\n`;
  if (result.nothingInstalled) return 'nothing was installed; nothing changed\n';
  return [
    `restored/removed files: ${result.restoredFiles.length}`,
    `payload files removed:  ${result.removedPayloadFiles}`,
    ...(result.keptFiles.length > 0 ? [`left (not ours now):    ${result.keptFiles.join(', ')}`] : []),
    `runtime:                ${result.restarted ? 'restarted' : 'not restarted'}`,
    '',
  ].join('\n');
}

function liveState(report: StatusReport, handler: string): string {
  if (!report.live.answered) return 'unknown (the runtime did not answer)';
  return report.live.missing.includes(handler) ? 'NOT live' : 'live';
}

/**
 * The status report for people, as aligned tables: the install, then each handler with its live state
 * in the runtime, then each file kata-deploy wrote with whether it drifted, then every drift found.
 */
export function statusText(report: StatusReport): string {
  if (!report.installed)
    return `not installed${report.live.answered ? ` (runtime serves: ${report.live.handlers.join(', ')})` : ''}\n`;
  const source = report.payloadSource === undefined ? '' : ` from ${report.payloadSource}`;
  const summary = formatTable([
    ['phase', report.phase ?? 'unknown'],
    ['payload', `${report.payloadDigest ?? 'none'}${source}`],
    ['shims', report.shims.join(', ') || 'unknown'],
    ['healthy', report.healthy ? 'yes' : 'no'],
  ]);
  const launchOf = (name: string): string => {
    const shim = report.launch.find((entry) => entry.handler === name);
    return shim === undefined ? 'not checked' : `${shim.launchable ? '' : 'CANNOT START: '}${shim.reason}`;
  };
  const handlers = formatTable([
    ['HANDLER', 'RUNTIME', 'LAUNCH'],
    ...report.handlers.map((name) => [name, liveState(report, name), launchOf(name)]),
  ]);
  const files = formatTable([
    ['FILE', 'STATE'],
    ...report.files.map((file) => [file.path, file.state === 'as-written' ? 'as written' : `DRIFTED (${file.state})`]),
  ]);
  const drift = report.drift.length === 0 ? '' : `\ndrift:\n${report.drift.map((line) => `  ${line}\n`).join('')}`;
  return `${summary}\n${handlers}\n${files}${drift}`;
}
