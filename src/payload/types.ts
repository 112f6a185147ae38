import type { Clock } from '../host/clock.js';
import type { HostFs } from '../host/host-fs.js';
import type { Logger } from '../host/logger.js';
import type { ProgressPort } from '../host/progress.js';
import type { PayloadLimits } from './entry-policy.js';
import type { InstallLocation } from './install-location.js';
import type { PayloadManifest } from './manifest.js';
import type { FetchOptions } from './remote-source.js';
import type { Settings } from '../settings/settings.js';

/** The settings the payload code reads. */
export type PayloadSettings = Pick<
  Settings,
  'payload' | 'payloadSha256' | 'allowUnverifiedPayload' | 'installDir' | 'shims' | 'arch' | 'multiInstallSuffix'
>;

/** The side effects the payload code needs: the host filesystem, logs, time, and how to download. */
export interface PayloadPorts {
  readonly fs: HostFs;
  readonly log: Logger;
  readonly clock: Clock;
  /** Proxy and CA for https:// payloads; the caller takes them from settings/environment. */
  readonly fetch?: FetchOptions;
  /** Where download and unpack progress goes; none when absent. */
  readonly progress?: ProgressPort;
  /** Bomb ceilings; DEFAULT_LIMITS when absent (tests pass tiny ones). */
  readonly limits?: PayloadLimits;
}

/**
 * A payload checked and unpacked beside the install dir, not yet visible. `unchanged` means the same
 * payload is already installed intact: committing it writes nothing (or only a refreshed manifest).
 */
export interface StagedPayload {
  readonly unchanged: boolean;
  /** Real path of the staging dir; undefined when unchanged. */
  readonly stagingDir: string | undefined;
  readonly location: InstallLocation;
  /** The manifest this payload will have once committed. */
  readonly manifest: PayloadManifest;
  /** True when only the manifest's record of the source changed (same tree, e.g. a touched file). */
  readonly manifestOnly: boolean;
  /** Pristine Kata configs by path relative to the install dir, read while unpacking. */
  readonly pristineConfigs: ReadonlyMap<string, Buffer>;
}

/**
 * What committing did: whether the tree changed, the host paths of files the upgrade removed, and the
 * handle finalizePayload / revertPayload need (the tree the switch replaced is kept until then).
 */
export interface CommitResult {
  readonly changed: boolean;
  readonly removed: readonly string[];
  readonly staged: StagedPayload;
  /** Real path where the replaced tree is kept; undefined when nothing was replaced. */
  readonly oldTree: string | undefined;
}
