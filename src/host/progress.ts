/** The long byte-counting phases an operator waits on: a payload download, or the unpack of a local archive. */
export type ProgressPhase = 'download' | 'unpack';

/** One running phase. */
export interface ProgressTask {
  /** Bytes done so far (a running total, not an increment). */
  update(bytes: number): void;
  /** The phase ended; a display is cleaned up either way. */
  end(outcome: 'done' | 'failed'): void;
}

/**
 * Where progress goes: a line redrawn on a terminal, or a log line at start and end. A port so the
 * payload code only counts bytes and never asks whether anyone is watching.
 */
export interface ProgressPort {
  /** `totalBytes`: the download's Content-Length or the archive's size; undefined when unknown. */
  start(phase: ProgressPhase, totalBytes: number | undefined): ProgressTask;
}

/** Progress nobody sees: library callers and tests that do not look at it. */
export const noProgress: ProgressPort = {
  start: () => ({ update: () => undefined, end: () => undefined }),
};
