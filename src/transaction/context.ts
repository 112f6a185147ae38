import type { HandlerSpec } from '../core/handlers.js';
import type { Clock } from '../host/clock.js';
import type { HostFs } from '../host/host-fs.js';
import type { Logger } from '../host/logger.js';
import type { Settings } from '../settings/settings.js';
import type {
  KataConfigPart,
  ModuleLoadPart,
  PayloadPart,
  RuntimeConfigPart,
  RuntimeControl,
  ShimLaunchPart,
} from './parts.js';

/** Everything a transaction needs, passed down explicitly: settings, ports and the parts it sequences. */
export interface TransactionContext {
  readonly settings: Settings;
  readonly handlers: readonly HandlerSpec[];
  readonly fs: HostFs;
  readonly clock: Clock;
  readonly log: Logger;
  readonly payload: PayloadPart;
  readonly kataConfig: KataConfigPart;
  readonly runtimeConfig: RuntimeConfigPart;
  /** Directories the runtime's config and drop-ins live in: with the install and state dirs, the ledger's scope. */
  readonly runtimeConfigDirs: readonly string[];
  /** How to restart and ask the runtime; undefined only in tests that exercise files alone. */
  readonly control: RuntimeControl | undefined;
  /** How the runtime finds each handler's shim; undefined in tests that exercise files alone. */
  readonly shims?: ShimLaunchPart | undefined;
  /** Loads and checks the kernel modules inside the install; undefined where none are judged (uninstall). */
  readonly modules?: ModuleLoadPart | undefined;
  /** How long to wait for the host lock held by another run. */
  readonly lockTimeoutMs?: number;
}
