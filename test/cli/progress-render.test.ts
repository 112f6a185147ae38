import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration, progressFigures, progressLine } from '../../src/cli/progress/figures.js';
import { ttyProgress } from '../../src/cli/progress/tty-progress.js';
import { instantClock } from '../helpers/instant-clock.js';

const CLEAR = '\r\x1b[2K';

describe('progress figures', () => {
  it('derive rate and ETA from bytes, total and elapsed time', () => {
    const figures = progressFigures(12 * 1024 * 1024, 48 * 1024 * 1024, 2000);
    expect(figures.bytesPerSecond).toBe(6 * 1024 * 1024);
    expect(figures.etaMs).toBe(6000);
    expect(progressLine('download', figures)).toBe('download  12.0 MiB / 48.0 MiB   25%  6.0 MiB/s  ETA 6s');
  });

  it('show only what is known without a Content-Length or before any time passed', () => {
    expect(progressLine('download', progressFigures(1536, undefined, 1000))).toBe('download  1.5 KiB  1.5 KiB/s');
    expect(progressLine('unpack', progressFigures(0, 2048, 0))).toBe('unpack    0 B / 2.0 KiB    0%');
  });

  it('format sizes in binary units and durations rounded up', () => {
    expect([formatBytes(0), formatBytes(1023), formatBytes(1024), formatBytes(5 * 1024 ** 3)]).toEqual([
      '0 B',
      '1023 B',
      '1.0 KiB',
      '5.0 GiB',
    ]);
    expect([formatDuration(1), formatDuration(4200), formatDuration(75_000), formatDuration(3_700_000)]).toEqual([
      '1s',
      '5s',
      '1m15s',
      '1h01m',
    ]);
  });
});

describe('the terminal progress line', () => {
  function terminal(columns?: number) {
    const writes: string[] = [];
    return { writes, stream: { write: (text: string) => writes.push(text), columns } };
  }

  it('draws at once, redraws in place at most every 100 ms, and erases itself at the end', async () => {
    const clock = instantClock();
    const { writes, stream } = terminal(80);
    const task = ttyProgress(stream, clock).start('download', 4096);
    expect(writes).toEqual([`${CLEAR}download  0 B / 4.0 KiB    0%`]);
    await clock.sleep(50);
    task.update(1024);
    expect(writes).toHaveLength(1);
    await clock.sleep(50);
    task.update(2048);
    expect(writes[1]).toBe(`${CLEAR}download  2.0 KiB / 4.0 KiB   50%  20.0 KiB/s  ETA 1s`);
    task.end('done');
    expect(writes.at(-1)).toBe(CLEAR);
    task.update(4096);
    task.end('failed');
    expect(writes).toHaveLength(3);
  });

  it('cuts the line to the terminal width so it never wraps, and erases it on failure too', () => {
    const { writes, stream } = terminal(12);
    const task = ttyProgress(stream, instantClock()).start('unpack', 1 << 30);
    expect(writes[0]).toBe(`${CLEAR}unpack    0`);
    task.end('failed');
    expect(writes).toEqual([`${CLEAR}unpack    0`, CLEAR]);
  });

  it('writes log lines above the progress line and redraws it below them', () => {
    const { writes, stream } = terminal(80);
    const progress = ttyProgress(stream, instantClock());
    progress.writeAbove('before\n');
    const task = progress.start('unpack', 10);
    progress.writeAbove('INFO: during\n');
    task.end('done');
    progress.writeAbove('after\n');
    expect(writes).toEqual([
      'before\n',
      `${CLEAR}unpack    0 B / 10 B    0%`,
      `${CLEAR}INFO: during\nunpack    0 B / 10 B    0%`,
      CLEAR,
      'after\n',
    ]);
  });

  it('erases the line when the process exits mid-phase', () => {
    const { writes, stream } = terminal(80);
    ttyProgress(stream, instantClock()).start('download', undefined);
    process.emit('exit', 0);
    expect(writes.at(-1)).toBe(CLEAR);
  });
});
