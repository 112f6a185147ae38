import type { CustomRuntime } from '../settings/custom-runtimes.js';
import { kataConfigDir, type HandlerSpec } from './handlers.js';
import { shimBinaryRelPath, shimInfos } from './shims.js';
import { containerdSnapshotter } from './snapshotter-name.js';

/**
 * The handlers of the operator's custom runtimes: each runs its base shim's binary on a copy of that shim's
 * pristine config in `custom-runtimes/<handler>/` (upstream's layout), with the operator's drop-in as
 * `config.d/50-overrides.toml`. Uninstall and stale-file removal treat them like any handler of ours.
 */
export function customHandlers(
  installDir: string,
  runtimes: readonly CustomRuntime[],
  suffix: string | undefined,
): HandlerSpec[] {
  return runtimes.map((runtime) => {
    const shim = shimInfos([runtime.baseShim])[0]!;
    return {
      name: runtime.handler,
      shim,
      debug: false,
      runtimeType: `io.containerd.kata-${shim.name}.v2`,
      runtimePath: `${installDir}/${shimBinaryRelPath(shim)}`,
      configPath: `${kataConfigDir(installDir, shim, runtime.handler, true)}/configuration-${shim.name}.toml`,
      snapshotter: containerdSnapshotter(runtime.snapshotter, suffix),
      ...(runtime.dropIn === undefined ? {} : { overrides: runtime.dropIn }),
      ...(runtime.crioPullType === 'guest-pull' ? { guestPull: true } : {}),
    };
  });
}

/** PULL_TYPE_MAPPING: a shim mapped to `guest-pull` has CRI-O pull in the guest for all its handlers (variants too). */
export function withGuestPull(handlers: readonly HandlerSpec[], mapping: ReadonlyMap<string, string>): HandlerSpec[] {
  return handlers.map((handler) =>
    mapping.get(handler.shim.name) === 'guest-pull' ? { ...handler, guestPull: true } : handler,
  );
}
