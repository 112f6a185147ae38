import { systemClock } from '../host/clock.js';
import type { HostFs } from '../host/host-fs.js';
import type { Logger } from '../host/logger.js';
import { createKube, type KubeAccess } from '../kube/create-kube.js';
import { readGuestSizes } from '../kube/ensure-runtime-classes.js';
import { desiredRuntimeClasses } from '../kube/runtime-classes.js';
import type { Settings } from '../settings/settings.js';
import { daemonExitCode, runDaemon } from './daemon.js';
import { DEFAULT_HEALTH_PORT } from './daemon-health.js';
import { terminationSignal } from './daemon-signals.js';
import type { DaemonInstallOutcome } from './daemon-types.js';

/** The DaemonSet's name in daemonset.yaml; what a pod looks up on SIGTERM. */
export const DEFAULT_DAEMONSET_NAME = 'kata-deploy';

/** What the CLI hands to `kata-deploy daemon` besides the settings. */
export interface DaemonCommandOptions {
  /** The transaction's install (issue 5), idempotent; `kube` puts its restart under the budget. */
  readonly install: (kube: KubeAccess | undefined) => Promise<DaemonInstallOutcome>;
  /** The transaction's exact uninstall, its restart under the budget too. */
  readonly uninstall: (kube: KubeAccess | undefined) => Promise<void>;
  /** The host filesystem, to read each shim's Kata config for RuntimeClass overhead. */
  readonly fs: HostFs;
  readonly healthPort?: number;
  readonly daemonSetName?: string;
  /** Defaults to the pod's namespace (from its ServiceAccount) or the kubeconfig context's. */
  readonly namespace?: string;
}

/**
 * `kata-deploy daemon` wired to the real ports: API access from the pod's ServiceAccount (or the
 * kubeconfig), SIGTERM/SIGINT, the system clock, RuntimeClasses from the installed configs when asked
 * for. Returns the exit status; the CLI only has to pass the transaction's install and uninstall.
 */
export async function runDaemonCommand(
  settings: Settings,
  options: DaemonCommandOptions,
  log: Logger,
): Promise<number> {
  const kube = createKube(settings, log);
  const wantsClasses = settings.createRuntimeClasses || settings.createDefaultRuntimeClass;
  const termination = terminationSignal();
  try {
    const exit = await runDaemon({
      settings,
      install: () => options.install(kube),
      uninstall: () => options.uninstall(kube),
      kube,
      daemonSet: {
        namespace: options.namespace ?? kube?.namespace ?? DEFAULT_DAEMONSET_NAME,
        name: options.daemonSetName ?? DEFAULT_DAEMONSET_NAME,
      },
      runtimeClasses: wantsClasses
        ? async () => desiredRuntimeClasses(settings, await readGuestSizes(options.fs, settings))
        : undefined,
      healthPort: options.healthPort ?? DEFAULT_HEALTH_PORT,
      terminated: termination.signal,
      clock: systemClock,
      log,
    });
    log.info({ exit: exit.kind }, 'kata-deploy daemon exiting');
    return daemonExitCode(exit);
  } finally {
    termination.dispose();
  }
}
