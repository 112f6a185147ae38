import type { Clock } from '../host/clock.js';
import type { Logger } from '../host/logger.js';
import { containerdServing } from './client.js';
import { criStatus, type CriStatus } from './cri-status.js';
import { GrpcError } from './grpc-unary.js';
import { containerdPlugins, criPluginProblem, type PluginInfo } from './introspection.js';

/** The three questions readiness asks containerd, as a port so the wait loop is testable on its own. */
export interface ContainerdProbe {
  readonly socketPath: string;
  criStatus(timeoutMs: number): Promise<CriStatus>;
  plugins(timeoutMs: number): Promise<PluginInfo[]>;
  serving(timeoutMs: number): Promise<boolean>;
}

/** The real probe over containerd's socket (`realSocketPath` as this process sees it). */
export function socketProbe(realSocketPath: string): ContainerdProbe {
  return {
    socketPath: realSocketPath,
    criStatus: (timeoutMs) => criStatus(realSocketPath, timeoutMs),
    plugins: (timeoutMs) => containerdPlugins(realSocketPath, timeoutMs),
    serving: (timeoutMs) => containerdServing(realSocketPath, timeoutMs),
  };
}

/** Why containerd is not (yet) serving the handlers we want. */
export type NotReadyKind =
  | 'socket-unavailable'
  | 'cri-plugin-failed'
  | 'cri-unavailable'
  | 'runtime-not-ready'
  | 'handlers-missing';

/** What one look at containerd found. `final` marks a state that waiting cannot change. */
export type Observation =
  | { readonly ready: true; readonly handlers: readonly string[] }
  | {
      readonly ready: false;
      readonly kind: NotReadyKind;
      readonly reason: string;
      readonly final: boolean;
      readonly missing?: readonly string[];
    };

/** The outcome of waitForHandlers. */
export type Readiness =
  | { readonly ready: true; readonly elapsedMs: number; readonly handlers: readonly string[] }
  | {
      readonly ready: false;
      readonly elapsedMs: number;
      readonly kind: NotReadyKind;
      readonly reason: string;
      readonly missing?: readonly string[];
    };

/** Judges a CRI Status against the handlers we need live (pure). */
export function assessStatus(status: CriStatus, wanted: readonly string[]): Observation {
  if (!status.runtimeReady) {
    const condition = status.conditions.find((candidate) => candidate.type === 'RuntimeReady');
    return {
      ready: false,
      kind: 'runtime-not-ready',
      final: false,
      reason: `CRI reports RuntimeReady=false${condition?.message ? `: ${condition.message}` : ''}`,
    };
  }
  const missing = wanted.filter((handler) => !status.handlers.includes(handler));
  if (missing.length > 0) {
    return {
      ready: false,
      kind: 'handlers-missing',
      final: false,
      missing,
      reason:
        `CRI does not list runtime handler(s) ${missing.join(', ')} (live: ` +
        `${status.handlers.join(', ') || 'none'})`,
    };
  }
  return { ready: true, handlers: status.handlers };
}

function isUnavailable(error: unknown): boolean {
  return error instanceof GrpcError && (error.status === 14 || error.status === 4);
}

/**
 * One look: CRI Status first (its answer is the proof); when the CRI service is missing, the plugin
 * list says why. A CRI plugin init error is final: containerd loads plugins once, at start.
 */
export async function observe(
  probe: ContainerdProbe,
  wanted: readonly string[],
  callTimeoutMs: number,
): Promise<Observation> {
  let status: CriStatus;
  try {
    status = await probe.criStatus(callTimeoutMs);
  } catch (error) {
    const message = (error as Error).message;
    if (isUnavailable(error))
      return {
        ready: false,
        kind: 'socket-unavailable',
        final: false,
        reason: `containerd socket ${probe.socketPath} is not answering (${message})`,
      };
    let problem: string | undefined;
    try {
      problem = criPluginProblem(await probe.plugins(callTimeoutMs));
    } catch (pluginsError) {
      if (isUnavailable(pluginsError))
        return {
          ready: false,
          kind: 'socket-unavailable',
          final: false,
          reason: `containerd socket ${probe.socketPath} is not answering (${(pluginsError as Error).message})`,
        };
    }
    if (problem !== undefined) return { ready: false, kind: 'cri-plugin-failed', final: true, reason: problem };
    return {
      ready: false,
      kind: 'cri-unavailable',
      final: false,
      reason: `CRI RuntimeService/Status failed: ${message}`,
    };
  }
  return assessStatus(status, wanted);
}

/** Options for waitForHandlers; the defaults suit a containerd that restarts in about 100 ms. */
export interface WaitOptions {
  readonly intervalMs?: number;
  /** Stop at a CRI plugin init error instead of waiting out the deadline (default true). */
  readonly stopOnPluginError?: boolean;
}

/**
 * Polls containerd until CRI serves every handler in `wanted` (include `runc`: a containerd whose
 * CRI plugin lost runc still answers Version), or `deadlineMs` passes. Logs each change of state.
 */
export async function waitForHandlers(
  probe: ContainerdProbe,
  wanted: readonly string[],
  deadlineMs: number,
  clock: Clock,
  log: Logger,
  options: WaitOptions = {},
): Promise<Readiness> {
  const started = clock.now();
  const intervalMs = options.intervalMs ?? 50;
  let lastReason: string | undefined;
  for (let attempt = 1; ; attempt++) {
    const remaining = deadlineMs - (clock.now() - started);
    const seen = await observe(probe, wanted, Math.max(100, Math.min(2000, remaining)));
    const elapsedMs = clock.now() - started;
    if (seen.ready) {
      log.info(
        { socket: probe.socketPath, handlers: wanted, elapsedMs, attempts: attempt },
        'containerd serves the runtime handlers',
      );
      return { ready: true, elapsedMs, handlers: seen.handlers };
    }
    if (seen.reason !== lastReason)
      log.info({ socket: probe.socketPath, elapsedMs, reason: seen.reason }, 'waiting for containerd');
    lastReason = seen.reason;
    const outOfTime = elapsedMs + intervalMs > deadlineMs;
    if (outOfTime || (seen.final && options.stopOnPluginError !== false)) {
      const { kind, reason, missing } = seen;
      return {
        ready: false,
        elapsedMs,
        kind,
        reason: outOfTime && !seen.final ? `${reason} after ${elapsedMs} ms` : reason,
        ...(missing === undefined ? {} : { missing }),
      };
    }
    await clock.sleep(intervalMs);
  }
}
