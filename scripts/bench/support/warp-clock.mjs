// A Clock for fleet simulations: time flows with real time while anything is under way (a request in
// flight at the fake API server, a watch event being written, a sleep registered or dropped), and when
// every simulated node has been quiet for a few milliseconds it jumps to the next pending sleep. Waiting
// (restarts, jitter, polls, lease expiry) then costs no wall time, while every API round trip still
// takes its real time on this machine: the simulated time is real time minus the idle stretches skipped.

/** `quiet()` returns a counter that changes whenever the server does anything, and 0 requests in flight. */
export function warpClock(server, { quietTicks = 3 } = {}) {
  let offset = 0;
  let activity = 0;
  let stopped = false;
  const timers = new Set();
  const now = () => Date.now() + offset;
  const fireDue = () => {
    const time = now();
    for (const timer of timers)
      if (timer.due <= time) {
        timers.delete(timer);
        activity += 1;
        timer.resolve();
      }
  };
  const earliest = () => {
    let due = Number.POSITIVE_INFINITY;
    for (const timer of timers) due = Math.min(due, timer.due);
    return due;
  };
  let quiet = 0;
  let last = -1;
  let jumps = 0;
  const tick = () => {
    if (stopped) return;
    fireDue();
    const seen = activity + server.activity();
    quiet = server.inFlight() === 0 && seen === last ? quiet + 1 : 0;
    last = seen;
    if (quiet >= quietTicks && timers.size > 0) {
      const due = earliest();
      if (due > now()) {
        offset += due - now();
        jumps += 1;
      }
      fireDue();
      quiet = 0;
    }
    setTimeout(tick, 1);
  };
  setTimeout(tick, 1);
  if (process.env.WARP_DEBUG)
    setInterval(
      () =>
        console.error(
          JSON.stringify({
            inFlight: server.inFlight(),
            timers: timers.size,
            quiet,
            jumps,
            offset,
            activity,
            server: server.activity(),
            dues: [...timers]
              .map((t) => t.due - now())
              .sort((a, b) => a - b)
              .slice(0, 5),
          }),
        ),
      2000,
    ).unref();
  return {
    now,
    sleep: (ms, signal) =>
      new Promise((resolve) => {
        if (signal?.aborted) return resolve();
        const timer = { due: now() + ms, resolve };
        timers.add(timer);
        activity += 1;
        signal?.addEventListener(
          'abort',
          () => {
            if (timers.delete(timer)) activity += 1;
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
