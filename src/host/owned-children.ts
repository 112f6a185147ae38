import type { ChildProcess } from 'node:child_process';

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function killRunning(): void {
  for (const child of running) child.kill('SIGKILL');
}

/**
 * Registers a started child so it is killed if this process exits before it does; returns it. The hook
 * is an `exit` listener only, so it never changes what a signal does to this process: a library hook
 * that re-raised SIGTERM (execa's signal-exit cleanup) once killed the daemon before its teardown.
 */
export function ownChild<T extends ChildProcess>(child: T): T {
  if (!exitHookInstalled) {
    process.on('exit', killRunning);
    exitHookInstalled = true;
  }
  running.add(child);
  const forget = (): void => {
    running.delete(child);
  };
  child.once('exit', forget);
  child.once('error', forget);
  return child;
}
