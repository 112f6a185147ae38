// A discrete-event Clock for fleet simulations. Simulated time stands still while anything is under way
// in this process (a request on its way to the fake API server, a client reading an answer or a watch
// event, a sleep registered or dropped) and, once everything is quiet, jumps to the next pending sleep.
// Every API round trip costs a fixed simulated latency (the server parks each answer, and each watch
// event, on a sleep of that length), so the figures depend on the protocol and the measured restart and
// latency, not on how fast this one loaded process serves a thousand clients.
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

/** A binary min-heap of timers by (due, order of registration); aborted timers are skipped. */
class TimerHeap {
  items = [];
  static before(a, b) {
    return a.due < b.due || (a.due === b.due && a.seq < b.seq);
  }
  push(timer) {
    const items = this.items;
    items.push(timer);
    for (let i = items.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!TimerHeap.before(items[i], items[parent])) break;
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
        if (left < items.length && TimerHeap.before(items[left], items[least])) least = left;
        if (right < items.length && TimerHeap.before(items[right], items[least])) least = right;
        if (least === i) break;
        [items[least], items[i]] = [items[i], items[least]];
        i = least;
      }
    }
    return top;
  }
}

let clients;

/**
 * `server.activity()` changes whenever the server does anything; `server.parked()` counts the requests
 * whose answer waits on one of this clock's sleeps. Quiet means: every request a client is waiting for
 * is parked, and nothing changed for `quietTurns` turns of the event loop and at least `quietMs` of real
 * time (so sockets written to in this process have been read).
 */
export function eventClock(server, { quietTurns = 4, quietMs = 1 } = {}) {
  clients ??= clientRequests();
  let now = Date.now();
  let activity = 0;
  let seq = 0;
  let stopped = false;
  let jumps = 0;
  const heap = new TimerHeap();
  const fireDue = () => {
    for (let timer = heap.peek(); timer !== undefined && timer.due <= now; timer = heap.peek()) {
      heap.pop();
      timer.done = true;
      activity += 1;
      timer.resolve();
    }
  };
  let quiet = 0;
  let last = -1;
  let quietSince = performance.now();
  const turn = () => {
    if (stopped) return;
    const seen = activity + clients.activity + server.activity();
    const idle = clients.waiting <= server.parked() && seen === last;
    if (!idle) quietSince = performance.now();
    quiet = idle ? quiet + 1 : 0;
    last = seen;
    const next = heap.peek();
    if (quiet >= quietTurns && performance.now() - quietSince >= quietMs && next !== undefined) {
      if (next.due > now) {
        now = next.due;
        jumps += 1;
      }
      fireDue();
      quiet = 0;
    }
    setImmediate(turn);
  };
  setImmediate(turn);
  return {
    now: () => now,
    sleep: (ms, signal) =>
      new Promise((resolve) => {
        if (signal?.aborted) return resolve();
        const timer = { due: now + Math.max(0, ms), seq: seq++, resolve, done: false };
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
    /** How many times simulated time moved on. */
    jumps: () => jumps,
    stop: () => {
      stopped = true;
    },
  };
}
