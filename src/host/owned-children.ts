import type { ResultPromise } from 'execa';

const running = new Set<ResultPromise>();
let exitHookInstalled = false;

function killRunning(): void {
  for (const child of running) child.kill('SIGKILL');
}

/**
 * Execa options every host program starts with. execa's own `cleanup` hooks SIGTERM through
 * signal-exit, which re-raises the signal once our listener has run: a SIGTERM landing while
 * `containerd config dump` runs killed the daemon before its teardown. We keep the children ourselves.
 */
export const OWNED_CHILD_OPTIONS = { cleanup: false } as const;

/**
 * Registers a started child so it is killed if this process exits before it does; returns it. The
 * hook is an `exit` listener only, so it never changes what a signal does to this process.
 */
export function ownChild<T extends ResultPromise>(child: T): T {
  if (!exitHookInstalled) {
    process.on('exit', killRunning);
    exitHookInstalled = true;
  }
  running.add(child);
  const forget = (): void => {
    running.delete(child);
  };
  child.then(forget, forget);
  return child;
}
