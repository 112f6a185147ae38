import type { RestartMode } from '../settings/settings.js';

/** Whether the runtime must re-read its config, and the reason printed in plans and logs. */
export type RestartDecision =
  | { readonly restart: true; readonly reason: string }
  | { readonly restart: false; readonly reason: string; readonly skipReadiness: boolean };

export interface RestartInput {
  readonly mode: RestartMode;
  readonly runtimeRestarts: boolean;
  readonly changedRuntimeFiles: readonly string[];
  readonly recoveredRuntimeFiles: boolean;
  /** Handlers we want that the live runtime does not serve; undefined when it was not asked. */
  readonly missingLiveHandlers: readonly string[] | undefined;
}

/**
 * Restart only when something the runtime reads changed (or a previous run left it stale): upstream
 * restarts containerd on every pod start, which kills nothing but costs every node a CRI outage.
 */
export function decideRestart(input: RestartInput): RestartDecision {
  const why: string[] = [];
  if (input.changedRuntimeFiles.length > 0) why.push(`changed ${input.changedRuntimeFiles.join(', ')}`);
  if (input.recoveredRuntimeFiles) why.push('an interrupted run was rolled back');
  if (input.missingLiveHandlers !== undefined && input.missingLiveHandlers.length > 0)
    why.push(`the live runtime does not serve ${input.missingLiveHandlers.join(', ')}`);
  if (input.mode === 'none' && why.length === 0)
    return {
      restart: false,
      reason: 'nothing the runtime reads changed (--restart none: readiness not checked)',
      skipReadiness: true,
    };
  if (why.length === 0) return { restart: false, reason: 'nothing the runtime reads changed', skipReadiness: false };
  if (input.mode === 'none')
    return {
      restart: false,
      reason: `--restart none (would restart: ${why.join('; ')}); restart the runtime yourself`,
      skipReadiness: true,
    };
  if (!input.runtimeRestarts)
    return {
      restart: false,
      reason: `the runtime reloads its drop-ins by itself (${why.join('; ')})`,
      skipReadiness: false,
    };
  return { restart: true, reason: why.join('; ') };
}
