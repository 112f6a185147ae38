import type { Arch } from '../core/arch.js';
import type { UpstreamSettings } from './upstream-settings.js';

/** Which container runtime distribution owns the node's containerd (or CRI-O); decides paths and restart. */
export type RuntimeFlavour =
  | 'containerd'
  | 'k3s'
  | 'k3s-agent'
  | 'rke2-server'
  | 'rke2-agent'
  | 'k0s-worker'
  | 'k0s-controller'
  | 'microk8s'
  | 'crio';

export const RUNTIME_FLAVOURS: readonly RuntimeFlavour[] = [
  'containerd',
  'k3s',
  'k3s-agent',
  'rke2-server',
  'rke2-agent',
  'k0s-worker',
  'k0s-controller',
  'microk8s',
  'crio',
];

/** How the runtime is told to re-read its config: detected, always via systemd, or not at all. */
export type RestartMode = 'auto' | 'systemd' | 'none';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
export type LogFormat = 'json' | 'pretty';

/** A value that applies to every shim, or to named shims only (upstream's `shim=value;…` form). */
export interface PerShimValue {
  readonly global: string | undefined;
  readonly perShim: ReadonlyMap<string, string>;
}

/**
 * Everything the program was asked to do, validated once at the edge and frozen: the core never reads
 * the environment or flags itself, so every decision can be tested with a plain object.
 */
export interface Settings {
  readonly arch: Arch;
  readonly nodeName: string | undefined;
  readonly shims: readonly string[];
  readonly defaultShim: string;
  readonly debug: boolean;
  readonly installationPrefix: string | undefined;
  readonly multiInstallSuffix: string | undefined;
  /** Host path of the Kata install dir: `<prefix>/opt/kata[-<suffix>]`. */
  readonly installDir: string;
  readonly allowedHypervisorAnnotations: PerShimValue & { readonly globalList: readonly string[] };
  readonly agentHttpsProxy: PerShimValue;
  readonly agentNoProxy: PerShimValue;
  readonly snapshotterHandlerMapping: ReadonlyMap<string, string>;
  readonly createRuntimeClasses: boolean;
  readonly createDefaultRuntimeClass: boolean;
  readonly startupTaints: readonly string[];
  readonly hostRoot: string;
  readonly payload: string;
  readonly payloadSha256: string | undefined;
  readonly allowUnverifiedPayload: boolean;
  /** `undefined` means detect the flavour from the host. */
  readonly runtime: RuntimeFlavour | undefined;
  readonly containerdConfig: string | undefined;
  /** Path (in this process's filesystem) of the containerd that validates configs; default: the host's. */
  readonly containerdBinary: string | undefined;
  readonly containerdSocket: string;
  readonly systemdSocket: string;
  readonly unit: string | undefined;
  readonly restart: RestartMode;
  readonly readinessTimeoutMs: number;
  /** Nodes that may restart their runtime at once; 0 = unlimited, undefined = the flavour's default. */
  readonly restartBudget: number | undefined;
  readonly kubeconfig: string | undefined;
  readonly json: boolean;
  readonly logLevel: LogLevel;
  /** `undefined` means pretty on a TTY, JSON otherwise. */
  readonly logFormat: LogFormat | undefined;
  readonly dryRun: boolean;
  readonly healthPort: number;
  readonly daemonSetName: string;
  readonly podNamespace: string | undefined;
  /** Refuse install (exit 3) where KVM is not usable; upstream never checks and leaves pods failing. */
  readonly requireKvm: boolean;
  /**
   * With requireKvm, also refuse (exit 3) where KVM is only shown by its device node and modules, not by
   * ioctls: an unprivileged pod cannot open /dev/kvm. Off by default, so the DaemonSet installs (warning).
   */
  readonly requireKvmProof: boolean;
  readonly httpsProxy: string | undefined;
  readonly noProxy: string | undefined;
  /** Path (in this process's filesystem) of a PEM bundle trusted for https:// payloads. */
  readonly payloadCa: string | undefined;
  /** Tests only: the step boundary at which the process kills itself, to prove crash recovery. */
  readonly testFailpoint: string | undefined;
  /** Upstream 4.2's variables that have no flag of ours (src/settings/upstream-settings.ts). */
  readonly upstream: UpstreamSettings;
}
