import type { Clock } from '../../host/clock.js';
import type { Logger } from '../../host/logger.js';
import type { ProgressPhase, ProgressPort, ProgressTask } from '../../host/progress.js';
import { progressFigures } from './figures.js';

/**
 * Progress where nobody watches a terminal (JSON logs, a pod, a pipe): one log line when the phase starts
 * and one when it ends, with the figures (bytes, total, time, average rate), never a redrawn line.
 */
export function logProgress(log: Logger, clock: Clock): ProgressPort {
  return {
    start(phase: ProgressPhase, totalBytes: number | undefined): ProgressTask {
      const started = clock.now();
      let bytes = 0;
      let ended = false;
      log.info({ phase, totalBytes }, `${phase} started`);
      return {
        update(done) {
          bytes = done;
        },
        end(outcome) {
          if (ended) return;
          ended = true;
          const figures = progressFigures(bytes, totalBytes, clock.now() - started);
          const fields = {
            phase,
            bytes,
            totalBytes,
            ms: figures.elapsedMs,
            bytesPerSecond: figures.bytesPerSecond === undefined ? undefined : Math.round(figures.bytesPerSecond),
          };
          if (outcome === 'done') log.info(fields, `${phase} finished`);
          else log.warn(fields, `${phase} failed`);
        },
      };
    },
  };
}
