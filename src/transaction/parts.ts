import type { FileChange } from '../core/file-change.js';
import type { LiveRuntime } from '../containerd/cri-status.js';
import type { HandlerSpec } from '../core/handlers.js';
import type { ShimLink } from '../core/shim-lookup.js';
import type { ShimLinkRecord } from './shim-links.js';

/** A payload unpacked out of sight, ready to be switched into place (or thrown away). */
export interface StagedPayloadHandle {
  /** True when the same payload is already installed intact: nothing was staged, nothing will be written. */
  readonly unchanged: boolean;
  readonly digest: string;
  /** Reads a file of the payload by its path relative to the install dir (staged or installed tree). */
  readPristine(relPath: string): Promise<Buffer | undefined>;
  /** What the Kata configs need from the rest of the payload (DEVKIT's extension image). */
  readonly files?: PayloadFiles;
}

/**
 * What the Kata configs are planned from: the pristine configs, and (`files`, once the whole tree is known)
 * the rest of the payload. Early, mid-unpack, there is no `files`.
 */
export type PayloadConfigSource = Pick<StagedPayloadHandle, 'readPristine' | 'files'>;

/** What a stage tells its caller while it runs, so other work can overlap the unpack. */
export interface StageHooks {
  /** The unpack has begun (never called when the same payload is already installed). */
  readonly onUnpacking?: () => void;
  /** At most once, mid-unpack: the selected shims' pristine configs are read, the configs can be planned. */
  readonly onConfigs?: (source: PayloadConfigSource) => void;
}

/** The payload's tree by path relative to the install dir: what it has, and the small files kept while unpacking. */
export interface PayloadFiles {
  has(relPath: string): boolean;
  readSmall(relPath: string): Promise<Buffer | undefined>;
}

/**
 * The payload's part in a transaction: stage (validate), commit (switch, keeping the old tree), then
 * finalize (after the ledger commit: drop the old tree) or revert (on failure: put it back); discard
 * (never committed), remove (uninstall). finalize and revert do nothing when commit changed nothing.
 */
export interface PayloadPart {
  /**
   * Resolves a payload switch a killed run left half-done, before anything else touches the install
   * dir: finishes it when the ledger committed `committedDigest`, else puts the replaced tree back.
   */
  recover(committedDigest: string | undefined): Promise<{ removedLeftovers: readonly string[] }>;
  installedDigest(): Promise<string | undefined>;
  /** Host paths of installed payload files that are missing or no longer as installed (stat only). */
  damagedFiles(): Promise<readonly string[]>;
  /** Checks and unpacks the payload out of sight; `hooks` let other work overlap the unpack. */
  stage(hooks?: StageHooks): Promise<StagedPayloadHandle>;
  commit(staged: StagedPayloadHandle): Promise<{ changed: boolean }>;
  finalize(staged: StagedPayloadHandle): Promise<void>;
  revert(staged: StagedPayloadHandle): Promise<void>;
  discard(staged: StagedPayloadHandle): Promise<void>;
  /** Removes what is still ours; `kept` names what was left because it is not (changed or replaced since). */
  remove(): Promise<{ removed: number; kept: readonly string[] }>;
}

/** The per-handler Kata configuration files (ours entirely), planned from the payload's pristine configs. */
export interface KataConfigPart {
  plan(
    handlers: readonly HandlerSpec[],
    readPristine: StagedPayloadHandle['readPristine'],
    files?: PayloadFiles,
  ): Promise<FileChange[]>;
  /** The handlers with the containerd `pod_annotations` their Kata configs (after `changes`) enable. */
  annotate(
    handlers: readonly HandlerSpec[],
    changes: readonly FileChange[],
    readPristine: StagedPayloadHandle['readPristine'],
  ): Promise<HandlerSpec[]>;
}

/** The runtime's config (containerd or CRI-O): planned against the host's files and validated before writing. */
export interface RuntimeConfigPart {
  plan(handlers: readonly HandlerSpec[], previousRecord: unknown): Promise<{ changes: FileChange[]; record: unknown }>;
  planRemoval(record: unknown): Promise<FileChange[]>;
}

/** The answer of a readiness wait: the handlers are served, or why not. */
export type Readiness =
  | { readonly ready: true; readonly elapsedMs: number }
  | { readonly ready: false; readonly reason: string };

/** Makes the runtime re-read its config and reports whether it serves the handlers. */
export interface RuntimeControl {
  /** e.g. "systemd unit containerd.service over /run/systemd/private". */
  readonly description: string;
  /** Handlers a healthy runtime must serve besides ours (`runc` for containerd; none for CRI-O). */
  readonly baseHandlers: readonly string[];
  /** Whether this runtime is restarted by us at all (k0s reloads drop-ins by itself). */
  readonly restarts: boolean;
  /** Checks, before anything is written, that a restart could be carried out (e.g. systemd's socket exists). */
  preflight(): Promise<void>;
  /** Restarts (or signals) the runtime; throws KataDeployError('restart-failed') with the unit's state. */
  restart(): Promise<void>;
  /** The handlers the live runtime serves, or undefined when it does not answer. */
  liveHandlers(): Promise<readonly string[] | undefined>;
  /**
   * Shim and Kata config path of each live handler, where the runtime shows them (containerd's CRI
   * config), so status can tell our handler from another drop-in's handler of the same name.
   */
  liveRuntimes?(): Promise<ReadonlyMap<string, LiveRuntime> | undefined>;
  waitForHandlers(handlers: readonly string[], deadlineMs: number): Promise<Readiness>;
}

/** Which file the runtime will exec for one handler, found the way that runtime looks for it. */
export interface ShimResolution {
  readonly handler: string;
  /** `runtime_path` where the runtime honours it, else its PATH lookup of `containerd-shim-<name>-v2`. */
  readonly via: 'runtime_path' | 'PATH';
  /** Host path of the file it will exec, or undefined when it finds none. */
  readonly exec: string | undefined;
  /** True when that file is our shim (directly or through our link). */
  readonly launchable: boolean;
  readonly reason: string;
}

/** The links a runtime that ignores runtime_path needs, and the proof each handler's shim resolves to ours. */
export interface ShimLaunchPart {
  /** e.g. "containerd 1.6.20 (ignores runtime_path; PATH from /proc/123/environ)". */
  describe(): Promise<string>;
  /**
   * The links the handlers need (none where runtime_path is honoured) and those to write now. Refuses
   * (exit 5) a link path holding a file that is not ours.
   */
  plan(
    handlers: readonly HandlerSpec[],
    recorded: readonly ShimLinkRecord[],
  ): Promise<{ readonly wanted: readonly ShimLink[]; readonly toWrite: readonly ShimLink[] }>;
  resolve(handlers: readonly HandlerSpec[]): Promise<ShimResolution[]>;
}

/** Kernel modules, once our modules-load.d file is written: loads them, and refuses (throws) a node without one. */
export interface ModuleLoadPart {
  load(): Promise<void>;
}
