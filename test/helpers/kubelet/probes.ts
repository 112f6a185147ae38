// The kubelet's prober for httpGet probes: one GET per period, success or failure counted against the
// thresholds. The pod shares the node's network (no CNI on the test bed), so the pod IP is the node's.
import type { HttpProbe } from './pod-plan.ts';

/** Whether one GET answered 200–399 within the probe's timeout, as the kubelet's httpGet prober decides. */
export async function probeOnce(probe: HttpProbe, host: string): Promise<boolean> {
  try {
    const response = await fetch(`http://${host}:${probe.port}${probe.path}`, {
      signal: AbortSignal.timeout(probe.timeoutSeconds * 1000),
    });
    await response.arrayBuffer();
    return response.status >= 200 && response.status < 400;
  } catch {
    return false;
  }
}

/** Flips `onChange(true|false)` after successThreshold/failureThreshold results in a row. */
export interface ProbeLoop {
  stop(): void;
}

/**
 * Polls `probe` every periodSeconds after initialDelaySeconds. The first result counts from a state of
 * "not passing" (readiness starts unready, as in the kubelet); liveness starts passing.
 */
export function startProbeLoop(
  probe: HttpProbe,
  host: string,
  initiallyPassing: boolean,
  onChange: (passing: boolean) => void,
): ProbeLoop {
  let passing = initiallyPassing;
  let successes = 0;
  let failures = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const tick = async () => {
    const ok = await probeOnce(probe, host);
    if (stopped) return;
    successes = ok ? successes + 1 : 0;
    failures = ok ? 0 : failures + 1;
    if (!passing && successes >= probe.successThreshold) {
      passing = true;
      onChange(true);
    } else if (passing && failures >= probe.failureThreshold) {
      passing = false;
      onChange(false);
    }
    if (!stopped) timer = setTimeout(tick, probe.periodSeconds * 1000);
  };
  timer = setTimeout(tick, probe.initialDelaySeconds * 1000);
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
