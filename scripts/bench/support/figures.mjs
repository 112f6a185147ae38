// What every benchmark table shares: order statistics, a settled page cache before each timed run, and
// the `figure | value | baseline | ratio` table the scripts in scripts/bench/ print.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** The middle value (upper middle for an even count), as the tables report it. */
export const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/**
 * The value at quantile `q` by nearest rank, no interpolation: of 10 rounds p90 is the 9th fastest, not the slowest.
 */
export function percentile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)];
}

/** Flushes dirty pages left by the previous run, so each timed run starts from the same state. */
export function settle() {
  spawnSync('sync');
}

/** The 1-minute..15-minute load average, printed with each table: other processes share these cores. */
export function loadAverage() {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

/** Prints rows of [figure, value, baseline, ratio] as an aligned table under a header row. */
export function printTable(rows) {
  const all = [['figure', 'value', 'baseline', 'ratio'], ...rows];
  const widths = [0, 1, 2, 3].map((i) => Math.max(...all.map((row) => String(row[i]).length)));
  for (const row of all) console.log(row.map((cell, i) => String(cell).padEnd(widths[i])).join(' | '));
}
