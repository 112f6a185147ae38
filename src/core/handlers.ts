import { SHIM_CATALOGUE, shimBinaryRelPath, type ShimInfo } from './shims.js';
import type { Settings } from '../settings/settings.js';

/**
 * One runtime handler we add to the container runtime: its name (what a RuntimeClass's `handler`
 * names), the shim behind it, and the host paths containerd and CRI-O need to start it.
 */
export interface HandlerSpec {
  /** `kata-<shim>[-<suffix>][-debug]`. */
  readonly name: string;
  readonly shim: ShimInfo;
  /** Guest debug on (only in `-debug` handlers, never in the plain one). */
  readonly debug: boolean;
  /**
   * `io.containerd.<name>.v2`: one per handler, because containerd releases that ignore runtime_path
   * exec `containerd-shim-<name>-v2` from their PATH, and handlers must not share (or fight over) that file.
   */
  readonly runtimeType: string;
  /** Host path of the containerd shim binary under the install dir. */
  readonly runtimePath: string;
  /** Host path of this handler's own Kata configuration file (a per-handler copy; see kataConfigDir). */
  readonly configPath: string;
  /** containerd snapshotter from SNAPSHOTTER_HANDLER_MAPPING, if any. */
  readonly snapshotter: string | undefined;
}

/** Host directory holding one handler's Kata configuration and its `config.d/` drop-ins. */
export function kataConfigDir(installDir: string, handlerName: string): string {
  return `${installDir}/share/defaults/kata-containers/handlers/${handlerName}`;
}

/** The handler name for a shim, as upstream names it (suffix before `-debug`). */
export function handlerName(shim: string, suffix: string | undefined, debug: boolean): string {
  return `kata-${shim}${suffix === undefined ? '' : `-${suffix}`}${debug ? '-debug' : ''}`;
}

/**
 * Every handler the settings ask for, in a stable order: one per shim, plus a `-debug` twin per shim
 * when DEBUG is on. Install adds exactly these; anything else we wrote earlier is stale.
 */
export function handlersFor(
  settings: Pick<Settings, 'shims' | 'multiInstallSuffix' | 'debug' | 'installDir' | 'snapshotterHandlerMapping'>,
): HandlerSpec[] {
  const handlers: HandlerSpec[] = [];
  for (const shimName of settings.shims) {
    const shim = SHIM_CATALOGUE.get(shimName);
    if (shim === undefined) throw new Error(`shim ${shimName} missing from the catalogue`);
    for (const debug of settings.debug ? [false, true] : [false]) {
      const name = handlerName(shimName, settings.multiInstallSuffix, debug);
      handlers.push({
        name,
        shim,
        debug,
        runtimeType: `io.containerd.${name}.v2`,
        runtimePath: `${settings.installDir}/${shimBinaryRelPath(shim)}`,
        configPath: `${kataConfigDir(settings.installDir, name)}/configuration-${shimName}.toml`,
        snapshotter: settings.snapshotterHandlerMapping.get(shimName),
      });
    }
  }
  return handlers;
}
