// A Clock whose sleeps return at once and advance its time, recording each delay: retries and
// backoff run at full speed in tests and their waits can be asserted on.
export interface InstantClock {
  now(): number;
  sleep(ms: number): Promise<void>;
  readonly sleeps: number[];
}

export function instantClock(start = 1_800_000_000_000): InstantClock {
  let time = start;
  const sleeps: number[] = [];
  return {
    now: () => time,
    sleep: async (ms) => {
      sleeps.push(ms);
      time += ms;
    },
    sleeps,
  };
}
