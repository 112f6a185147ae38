import { SHIM_CATALOGUE, shimBinaryRelPath, shimConfigDirRel, type ShimInfo } from './shims.js';
import { containerdSnapshotter } from './snapshotter-name.js';
import type { Settings } from '../settings/settings.js';

/**
 * One runtime handler we add to the container runtime: its name (what a RuntimeClass's `handler`
 * names), the shim behind it, and the host paths containerd and CRI-O need to start it.
 */
export interface HandlerSpec {
  /** `kata-<shim>[-<suffix>][-debug]`. */
  readonly name: string;
  readonly shim: ShimInfo;
  /** Guest debug on (only in `-debug` and `-devkit` handlers, never in the plain one). */
  readonly debug: boolean;
  /** DEVKIT: the `-devkit` debug variant, whose guest also gets the payload's devkit extension image. */
  readonly devkit?: boolean;
  /**
   * `io.containerd.<name>.v2`: one per handler, because containerd releases that ignore runtime_path
   * exec `containerd-shim-<name>-v2` from their PATH, and handlers must not share (or fight over) that file.
   */
  readonly runtimeType: string;
  /** Host path of the containerd shim binary under the install dir. */
  readonly runtimePath: string;
  /** Host path of this handler's own Kata configuration file (a copy of the pristine one; see kataConfigDir). */
  readonly configPath: string;
  /** containerd snapshotter from SNAPSHOTTER_HANDLER_MAPPING, if any (`nydus` as upstream's proxy plugin name). */
  readonly snapshotter: string | undefined;
  /** CRI-O pulls this handler's images in the guest (PULL_TYPE_MAPPING `guest-pull`, custom runtime pull type). */
  readonly guestPull?: boolean;
  /** A custom runtime's own Kata drop-in (`config.d/50-overrides.toml`), verbatim from the operator. */
  readonly overrides?: string;
  /** containerd `pod_annotations`: what the handler's Kata config enables (set once its config is planned). */
  readonly podAnnotations?: readonly string[];
}

/**
 * Host directory holding one handler's Kata configuration and its `config.d/` drop-ins, where upstream 4.2
 * puts it (and where its docs and tools look): `…/kata-containers[/runtime-rs]/runtimes/<shim>/` for a
 * shim's plain handler, `…/kata-containers/custom-runtimes/<handler>/` for a variant such as `-debug`.
 */
export function kataConfigDir(installDir: string, shim: ShimInfo, handlerName: string, variant: boolean): string {
  if (variant) return `${installDir}/share/defaults/kata-containers/custom-runtimes/${handlerName}`;
  return `${installDir}/${shimConfigDirRel(shim)}/runtimes/${shim.name}`;
}

/** The directory our pre-4.2 layout kept every handler's Kata configuration in (removed on upgrade). */
export function legacyKataConfigRoot(installDir: string): string {
  return `${installDir}/share/defaults/kata-containers/handlers`;
}

/** A shim's handlers: the plain one and upstream's debug variants (DEBUG, DEVKIT with DEBUG). */
export type HandlerVariant = 'plain' | 'debug' | 'devkit';

/** The handler name for a shim, as upstream names it (suffix before `-debug` / `-devkit`). */
export function handlerName(shim: string, suffix: string | undefined, variant: boolean | HandlerVariant): string {
  const kind = variant === true ? 'debug' : variant === false ? 'plain' : variant;
  return `kata-${shim}${suffix === undefined ? '' : `-${suffix}`}${kind === 'plain' ? '' : `-${kind}`}`;
}

function variantsFor(debug: boolean, devkit: boolean): HandlerVariant[] {
  if (!debug) return ['plain'];
  return devkit ? ['plain', 'debug', 'devkit'] : ['plain', 'debug'];
}

/**
 * Every handler the settings ask for, in a stable order: one per shim, plus a `-debug` twin per shim
 * when DEBUG is on (and a `-devkit` one with DEVKIT too, as upstream). Install adds exactly these; anything
 * else we wrote earlier is stale.
 */
export function handlersFor(
  settings: Pick<Settings, 'shims' | 'multiInstallSuffix' | 'debug' | 'installDir' | 'snapshotterHandlerMapping'> & {
    readonly upstream?: { readonly devkit?: boolean };
  },
): HandlerSpec[] {
  const handlers: HandlerSpec[] = [];
  for (const shimName of settings.shims) {
    const shim = SHIM_CATALOGUE.get(shimName);
    if (shim === undefined) throw new Error(`shim ${shimName} missing from the catalogue`);
    for (const variant of variantsFor(settings.debug, settings.upstream?.devkit === true)) {
      const name = handlerName(shimName, settings.multiInstallSuffix, variant);
      const debug = variant !== 'plain';
      handlers.push({
        name,
        shim,
        debug,
        ...(variant === 'devkit' ? { devkit: true } : {}),
        runtimeType: `io.containerd.${name}.v2`,
        runtimePath: `${settings.installDir}/${shimBinaryRelPath(shim)}`,
        configPath: `${kataConfigDir(settings.installDir, shim, name, debug)}/configuration-${shimName}.toml`,
        snapshotter: containerdSnapshotter(
          settings.snapshotterHandlerMapping.get(shimName),
          settings.multiInstallSuffix,
        ),
      });
    }
  }
  return handlers;
}
