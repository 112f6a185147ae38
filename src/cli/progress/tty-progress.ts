import type { Clock } from '../../host/clock.js';
import type { ProgressPhase, ProgressPort, ProgressTask } from '../../host/progress.js';
import { progressFigures, progressLine } from './figures.js';

/** The terminal progress is drawn on (stderr): text out, and its width when known. */
export interface TerminalStream {
  write(text: string): unknown;
  readonly columns?: number;
}

/** Back to column 0 and erase the line: each frame replaces the last, and the last leaves nothing. */
const CLEAR_LINE = '\r\x1b[2K';
const REDRAW_EVERY_MS = 100;
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** Progress on a terminal, and the way other output (log lines) gets past it. */
export interface TtyProgress extends ProgressPort {
  /** Writes `text` (whole lines) above the progress line: the line is erased first and redrawn after. */
  writeAbove(text: string): void;
}

/**
 * Progress for a person at a terminal: one line on stderr, redrawn in place at most every 100 ms, cut to
 * the terminal's width (a wrapped line could not be redrawn), erased when the phase ends, fails, or the
 * process exits or is interrupted mid-way (the signal is then re-raised, so it still ends the process).
 */
export function ttyProgress(stream: TerminalStream, clock: Clock): TtyProgress {
  let shown: string | undefined;
  const erase = (): void => {
    if (shown !== undefined) stream.write(CLEAR_LINE);
    shown = undefined;
  };
  return {
    writeAbove(text) {
      stream.write(shown === undefined ? text : `${CLEAR_LINE}${text}${shown}`);
    },
    start(phase: ProgressPhase, totalBytes: number | undefined): ProgressTask {
      const started = clock.now();
      let lastDraw = Number.NEGATIVE_INFINITY;
      const draw = (bytes: number): void => {
        const now = clock.now();
        const line = progressLine(phase, progressFigures(bytes, totalBytes, now - started));
        const columns = stream.columns ?? 0;
        shown = line.slice(0, columns > 1 ? columns - 1 : line.length);
        stream.write(`${CLEAR_LINE}${shown}`);
        lastDraw = now;
      };
      const onSignal = (signal: NodeJS.Signals): void => {
        detach();
        erase();
        process.kill(process.pid, signal);
      };
      const detach = (): void => {
        process.off('exit', erase);
        for (const signal of SIGNALS) process.off(signal, onSignal);
      };
      process.on('exit', erase);
      for (const signal of SIGNALS) process.on(signal, onSignal);
      draw(0);
      let ended = false;
      return {
        update(bytes) {
          if (!ended && clock.now() - lastDraw >= REDRAW_EVERY_MS) draw(bytes);
        },
        end() {
          if (ended) return;
          ended = true;
          detach();
          erase();
        },
      };
    },
  };
}
