// A Clock that moves only when the test says so: sleeps stay pending until advance() passes their
// time (or their signal aborts), so a test decides exactly which timers have fired.
export interface ManualClock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Sleeps not yet due nor aborted. */
  pending(): number[];
  advance(ms: number): void;
}

export function manualClock(start = 1_800_000_000_000): ManualClock {
  let time = start;
  const timers = new Set<{ due: number; resolve: () => void }>();
  return {
    now: () => time,
    sleep: (ms, signal) =>
      new Promise<void>((resolve) => {
        if (signal?.aborted) return resolve();
        const timer = { due: time + ms, resolve };
        timers.add(timer);
        signal?.addEventListener('abort', () => {
          timers.delete(timer);
          resolve();
        });
      }),
    pending: () => [...timers].map((timer) => timer.due - time).sort((a, b) => a - b),
    advance: (ms) => {
      time += ms;
      for (const timer of [...timers].sort((a, b) => a.due - b.due))
        if (timer.due <= time) {
          timers.delete(timer);
          timer.resolve();
        }
    },
  };
}
