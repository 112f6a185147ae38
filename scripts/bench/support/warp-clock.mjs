// A Clock for fleet simulations: time flows with real time while anything is under way (a request in
// flight at the fake API server or awaiting its answer in a client, a watch event being written or
// read, a sleep registered or dropped), and once everything has been quiet for a few milliseconds it
// jumps to the next pending sleep. Waiting (restarts, jitter, polls, lease expiry) then costs no wall
// time, while every API round trip still takes its real time on this machine: the simulated time is
// real time minus the idle stretches skipped.
import diagnostics from 'node:diagnostics_channel';

/** Requests the undici clients in this process have sent and not had answered yet (headers or error). */
function clientRequests() {
  const waiting = new WeakSet();
  const state = { waiting: 0, activity: 0 };
  diagnostics.subscribe('undici:request:create', ({ request }) => {
    waiting.add(request);
    state.waiting += 1;
    state.activity += 1;
  });
  const answered = ({ request }) => {
    if (waiting.delete(request)) state.waiting -= 1;
    state.activity += 1;
  };
  diagnostics.subscribe('undici:request:headers', answered);
  diagnostics.subscribe('undici:request:error', answered);
  diagnostics.subscribe('undici:request:bodyChunkReceived', () => {
    state.activity += 1;
  });
  return state;
}

/** A binary min-heap of timers by due time; aborted timers are skipped when they surface. */
class TimerHeap {
  items = [];
  push(timer) {
    const items = this.items;
    items.push(timer);
    for (let i = items.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (items[parent].due <= items[i].due) break;
      [items[parent], items[i]] = [items[i], items[parent]];
      i = parent;
    }
  }
  peek() {
    while (this.items.length > 0 && this.items[0].done) this.pop();
    return this.items[0];
  }
  pop() {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0) {
      items[0] = last;
      for (let i = 0; ; ) {
        const left = 2 * i + 1;
        const right = left + 1;
        let least = i;
        if (left < items.length && items[left].due < items[least].due) least = left;
        if (right < items.length && items[right].due < items[least].due) least = right;
        if (least === i) break;
        [items[least], items[i]] = [items[i], items[least]];
        i = least;
      }
    }
    return top;
  }
}

/** `server.activity()` changes whenever the server does anything; `server.inFlight()` counts its open requests. */
let clients;

export function warpClock(server, { quietTicks = 3 } = {}) {
  clients ??= clientRequests();
  let offset = 0;
  let activity = 0;
  let stopped = false;
  const heap = new TimerHeap();
  const now = () => Date.now() + offset;
  const fireDue = () => {
    const time = now();
    for (let timer = heap.peek(); timer !== undefined && timer.due <= time; timer = heap.peek()) {
      heap.pop();
      timer.done = true;
      activity += 1;
      timer.resolve();
    }
  };
  let quiet = 0;
  let last = -1;
  let jumps = 0;
  const tick = () => {
    if (stopped) return;
    fireDue();
    const seen = activity + clients.activity + server.activity();
    const idle = server.inFlight() === 0 && clients.waiting === 0;
    quiet = idle && seen === last ? quiet + 1 : 0;
    last = seen;
    const next = heap.peek();
    if (quiet >= quietTicks && next !== undefined) {
      if (next.due > now()) {
        offset += next.due - now();
        jumps += 1;
      }
      fireDue();
      quiet = 0;
    }
    setTimeout(tick, 1);
  };
  setTimeout(tick, 1);
  return {
    now,
    sleep: (ms, signal) =>
      new Promise((resolve) => {
        if (signal?.aborted) return resolve();
        const timer = { due: now() + ms, resolve, done: false };
        heap.push(timer);
        activity += 1;
        signal?.addEventListener(
          'abort',
          () => {
            if (!timer.done) activity += 1;
            timer.done = true;
            resolve();
          },
          { once: true },
        );
      }),
    /** Time skipped so far, and how many jumps skipped it. */
    skipped: () => ({ ms: offset, jumps }),
    stop: () => {
      stopped = true;
    },
  };
}
