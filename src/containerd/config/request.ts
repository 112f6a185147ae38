import type { SemVer } from '../../core/containerd-version.js';
import type { HandlerSpec } from '../../core/handlers.js';
import type { RuntimeFlavour } from '../../settings/settings.js';
import type { UserDropInSource } from '../../settings/user-drop-in.js';
import type { TomlTable } from './toml-document.js';

/** Everything the runtime-config planner needs to know besides the files' bytes. */
export interface RuntimeConfigRequest {
  readonly flavour: RuntimeFlavour;
  /** Host path of the config the flavour reads (for k3s/rke2 the rendered `config.toml`, never edited). */
  readonly configPath: string;
  /** The running daemon's release, read over its socket or from the host binary; undefined if unknown. */
  readonly daemonVersion: SemVer | undefined;
  readonly handlers: readonly HandlerSpec[];
  /**
   * runc as the daemon runs it now (its table in the pre-install `config dump`), copied when a 1.x runtime
   * map we write into would otherwise drop the default runc; undefined when no dump has been read.
   */
  readonly effectiveRunc?: TomlTable;
  /** MULTI_INSTALL_SUFFIX, which also names our drop-in files so two installs never share one. */
  readonly suffix: string | undefined;
  /** DEBUG: also raise containerd's `[debug] level` (only where no file it reads has a `[debug]` table). */
  readonly debugLevel?: boolean;
  /** CONTAINERD_USER_DROP_IN_SOURCE_FILE: the operator's file, copied next to our drop-in (drop-in mode only). */
  readonly userDropIn?: UserDropInSource;
}

/** The file name of our drop-in: one per install, so a second install with a suffix never overwrites it. */
export function dropInName(suffix: string | undefined, extension = '.toml'): string {
  return `kata-deploy${suffix === undefined ? '' : `-${suffix}`}${extension}`;
}

/** The operator's drop-in as installed (upstream's name): `zz` so containerd's sorted glob merges it after ours. */
export function userDropInName(suffix: string | undefined): string {
  return `zz-kata-deploy-user${suffix === undefined ? '' : `-${suffix}`}.toml`;
}
