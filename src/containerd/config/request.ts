import type { SemVer } from '../../core/containerd-version.js';
import type { HandlerSpec } from '../../core/handlers.js';
import type { RuntimeFlavour } from '../../settings/settings.js';

/** Everything the runtime-config planner needs to know besides the files' bytes. */
export interface RuntimeConfigRequest {
  readonly flavour: RuntimeFlavour;
  /** Host path of the config the flavour reads (for k3s/rke2 the rendered `config.toml`, never edited). */
  readonly configPath: string;
  /** The running daemon's release, read over its socket or from the host binary; undefined if unknown. */
  readonly daemonVersion: SemVer | undefined;
  readonly handlers: readonly HandlerSpec[];
  /** Whether the host's kubelet drives cgroups through systemd (the runc handler we may add follows it). */
  readonly systemdCgroup: boolean;
  /** MULTI_INSTALL_SUFFIX, which also names our drop-in files so two installs never share one. */
  readonly suffix: string | undefined;
  /** DEBUG: also raise containerd's `[debug] level` (only where no file it reads has a `[debug]` table). */
  readonly debugLevel?: boolean;
}

/** The file name of our drop-in: one per install, so a second install with a suffix never overwrites it. */
export function dropInName(suffix: string | undefined, extension = '.toml'): string {
  return `kata-deploy${suffix === undefined ? '' : `-${suffix}`}${extension}`;
}
