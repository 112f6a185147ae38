import type { V1RuntimeClass } from '@kubernetes/client-node';
import type { KataDeployError } from '../core/errors.js';
import type { Clock } from '../host/clock.js';
import type { Logger } from '../host/logger.js';
import type { KubeAccess } from '../kube/create-kube.js';
import type { Settings } from '../settings/settings.js';

/**
 * What the install callback reports back to the daemon. `converged` (the node already matched) leaves
 * no Event and restarts nothing; `rolled-back` means the transaction failed and put the host back.
 * Anything else that goes wrong is thrown.
 */
export type DaemonInstallOutcome =
  | { readonly kind: 'installed'; readonly summary: string }
  | { readonly kind: 'converged'; readonly summary: string }
  | { readonly kind: 'rolled-back'; readonly summary: string; readonly error: KataDeployError };

/** What the install and teardown phases need, as ports; in the CLI they run in a child process. */
export interface DaemonPhaseDeps {
  readonly settings: Pick<Settings, 'multiInstallSuffix' | 'startupTaints'>;
  /** The transaction's install (issue 5); must be idempotent: a restarted pod calls it again. */
  readonly install: () => Promise<DaemonInstallOutcome>;
  /** The transaction's exact uninstall; called only when the DaemonSet no longer covers the node. */
  readonly uninstall: () => Promise<void>;
  /** undefined: no API access (bare metal without kubeconfig): install, serve health, never uninstall. */
  readonly kube: KubeAccess | undefined;
  /** Our own DaemonSet, looked up on SIGTERM to tell a restart from a teardown. */
  readonly daemonSet: { readonly namespace: string; readonly name: string };
  /** RuntimeClasses to ensure after labelling (computed after install, from the shims' configs). */
  readonly runtimeClasses?: () => Promise<readonly V1RuntimeClass[]>;
  readonly clock: Clock;
  readonly log: Logger;
}

/** Everything `kata-deploy daemon` needs in one process (runDaemon), as ports. */
export interface DaemonDeps extends DaemonPhaseDeps {
  readonly healthPort: number;
  readonly healthHost?: string;
  /** Resolves when the pod is told to stop (SIGTERM). */
  readonly terminated: Promise<unknown>;
  /** Called once /healthz serves, before install starts; for tests and the benchmark. */
  readonly onListening?: (healthPort: number) => void;
  /** Called once the daemon is ready (labelled) with the health port; for tests and the benchmark. */
  readonly onReady?: (healthPort: number) => void;
}

/** How the daemon ended, for the exit status and the tests. */
export type DaemonExit =
  | { readonly kind: 'install-failed'; readonly error: KataDeployError }
  | { readonly kind: 'left-installed'; readonly reason: string }
  | { readonly kind: 'uninstalled'; readonly reason: string }
  | { readonly kind: 'uninstall-failed'; readonly error: KataDeployError };
