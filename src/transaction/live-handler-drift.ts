import type { LiveRuntime } from '../containerd/cri-status.js';
import type { HandlerSpec } from '../core/handlers.js';

/**
 * Why a pod on a handler we installed would not run our Kata, from what the live runtime shows: a
 * handler of the same name whose shim or Kata config is not ours (another drop-in's `kata-qemu`
 * pointing at a foreign shim wins the merge). Pure: compares the handlers we promised with the live
 * ones; a handler the runtime shows no details for (CRI-O) or that we have no spec for is not judged.
 */
export function liveHandlerDrift(
  promised: readonly string[],
  specs: readonly HandlerSpec[],
  live: ReadonlyMap<string, LiveRuntime>,
): string[] {
  const drift: string[] = [];
  for (const name of promised) {
    const spec = specs.find((handler) => handler.name === name);
    const runtime = live.get(name);
    if (spec === undefined || runtime === undefined) continue;
    if (runtime.runtimePath !== spec.runtimePath)
      drift.push(
        `live handler ${name} runs shim "${runtime.runtimePath || '(from PATH)'}", not ours (${spec.runtimePath})`,
      );
    if (runtime.configPath !== spec.configPath)
      drift.push(
        `live handler ${name} reads Kata config "${runtime.configPath || '(default)'}", not ours (${spec.configPath})`,
      );
  }
  return drift;
}
