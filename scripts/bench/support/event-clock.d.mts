import type { Clock } from '../../../src/host/clock.ts';

/** What the clock watches of the server: any change at all, and the requests parked on its sleeps. */
export interface EventClockServer {
  activity(): number;
  parked(): number;
}

/** A Clock whose time moves only when everything in the process is quiet (event-clock.mjs). */
export interface EventClock extends Clock {
  jumps(): number;
  stop(): void;
}

export function eventClock(
  server: EventClockServer,
  options?: { readonly quietTurns?: number; readonly quietMs?: number },
): EventClock;
