import type { ProgressPhase } from '../../host/progress.js';

/** Where a phase stands, as numbers: what both the terminal line and the end-of-phase log line show. */
export interface ProgressFigures {
  readonly bytes: number;
  readonly totalBytes: number | undefined;
  readonly elapsedMs: number;
  /** Average rate since the start; undefined until some time has passed. */
  readonly bytesPerSecond: number | undefined;
  /** Time left at the average rate; undefined without a total or a rate. */
  readonly etaMs: number | undefined;
}

/** The figures for `bytes` of `totalBytes` done after `elapsedMs`. */
export function progressFigures(bytes: number, totalBytes: number | undefined, elapsedMs: number): ProgressFigures {
  const bytesPerSecond = elapsedMs > 0 && bytes > 0 ? (bytes * 1000) / elapsedMs : undefined;
  const etaMs =
    totalBytes === undefined || bytesPerSecond === undefined
      ? undefined
      : (Math.max(0, totalBytes - bytes) * 1000) / bytesPerSecond;
  return { bytes, totalBytes, elapsedMs, bytesPerSecond, etaMs };
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** 1536 → "1.5 KiB": binary units, one decimal from KiB on. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

/** 75_000 → "1m15s", 4_200 → "5s" (rounded up: an ETA that says 0s before the end misleads). */
export function formatDuration(ms: number): string {
  const seconds = Math.ceil(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

/**
 * One status line: `download  12.0 MiB / 48.0 MiB  25%  6.0 MiB/s  ETA 6s`. Without a total it shows
 * what is known (bytes and rate).
 */
export function progressLine(phase: ProgressPhase, figures: ProgressFigures): string {
  const parts = [phase.padEnd(8)];
  const { bytes, totalBytes, bytesPerSecond, etaMs } = figures;
  if (totalBytes === undefined) parts.push(formatBytes(bytes));
  else {
    const percent = totalBytes === 0 ? 100 : Math.min(100, Math.floor((bytes * 100) / totalBytes));
    parts.push(`${formatBytes(bytes)} / ${formatBytes(totalBytes)}`, `${percent}%`.padStart(4));
  }
  if (bytesPerSecond !== undefined) parts.push(`${formatBytes(bytesPerSecond)}/s`);
  if (etaMs !== undefined) parts.push(`ETA ${formatDuration(etaMs)}`);
  return parts.join('  ');
}
