import { EXIT_CODES, KataDeployError } from '../core/errors.js';
import { systemClock } from '../host/clock.js';
import type { HostFs } from '../host/host-fs.js';
import type { Logger } from '../host/logger.js';
import { createKube, type KubeAccess } from '../kube/create-kube.js';
import { readGuestSizes } from '../kube/ensure-runtime-classes.js';
import { desiredRuntimeClasses } from '../kube/runtime-classes.js';
import type { Settings } from '../settings/settings.js';
import { daemonTarget, installAndLabel } from './daemon.js';
import { DAEMON_PHASE_ENV, resultMessage, type DaemonPhase, type PhaseMessage } from './daemon-phase-child.js';
import { daemonExitCode, type InstallPhaseResult } from './daemon-supervisor.js';
import { teardownOnTermination } from './daemon-teardown.js';
import type { DaemonExit, DaemonInstallOutcome } from './daemon-types.js';

/** The DaemonSet's name in daemonset.yaml; what a pod looks up on SIGTERM. */
export const DEFAULT_DAEMONSET_NAME = 'kata-deploy';

/** What the CLI hands to a phase of `kata-deploy daemon` besides the settings. */
export interface DaemonCommandOptions {
  /** The transaction's install (issue 5), idempotent; `kube` puts its restart under the budget. */
  readonly install: (kube: KubeAccess | undefined) => Promise<DaemonInstallOutcome>;
  /** The transaction's exact uninstall, its restart under the budget too. */
  readonly uninstall: (kube: KubeAccess | undefined) => Promise<void>;
  /** The host filesystem, to read each shim's Kata config for RuntimeClass overhead. */
  readonly fs: HostFs;
  readonly daemonSetName?: string;
  /** Defaults to the pod's namespace (from its ServiceAccount) or the kubeconfig context's. */
  readonly namespace?: string;
}

/**
 * One phase of `kata-deploy daemon` wired to the real ports: API access from the pod's ServiceAccount (or
 * the kubeconfig), the system clock, RuntimeClasses from the installed configs when asked for. `install`
 * claims, installs and labels; `teardown` tells a restart from a teardown and uninstalls on the latter.
 */
export async function runDaemonPhase(
  phase: DaemonPhase,
  settings: Settings,
  options: DaemonCommandOptions,
  log: Logger,
): Promise<InstallPhaseResult | DaemonExit> {
  const kube = createKube(settings, log);
  const wantsClasses = settings.createRuntimeClasses || settings.createDefaultRuntimeClass;
  const deps = {
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
    clock: systemClock,
    log,
  };
  const target = daemonTarget(deps);
  return phase === 'install' ? installAndLabel(deps, target) : teardownOnTermination(deps, target);
}

const ignoreSignal = (): void => {};

/** What a phase child tells the daemon before it begins: from its settings, where to serve and how to log. */
export function phaseStart(settings: Settings, stderrIsTty: boolean): PhaseMessage {
  const pretty = settings.logFormat === 'pretty' || (settings.logFormat === undefined && stderrIsTty);
  return {
    kataDeployDaemon: 'start',
    healthPort: settings.healthPort,
    log: { level: settings.logLevel, json: !pretty },
  };
}

/**
 * Makes this process a phase child of the daemon: sends `start` and resolves with the daemon's answer
 * (false: SIGTERM came first, do not install), with `report` to hand the result back. SIGTERM and SIGINT
 * belong to the daemon (a terminal's Ctrl-C reaches the whole process group): the phase runs on, as it did
 * when the daemon was one process, and the daemon decides afterwards. If the daemon dies (SIGKILL), the
 * channel closes and this child exits at once, as the single process would have died; the next daemon
 * converges from the journal. `report` resolves with the phase's exit status (README "Exit codes").
 */
export async function becomePhaseChild(
  start: PhaseMessage,
): Promise<{ readonly go: boolean; report(result: InstallPhaseResult | DaemonExit): Promise<number> }> {
  const send = process.send?.bind(process);
  if (send === undefined) {
    throw new KataDeployError('usage', `${DAEMON_PHASE_ENV} is set but this process has no channel to a daemon`, {
      hint: `unset ${DAEMON_PHASE_ENV}: only the daemon sets it, for the children it starts`,
    });
  }
  process.on('SIGTERM', ignoreSignal);
  process.on('SIGINT', ignoreSignal);
  let done = false;
  process.once('disconnect', () => {
    if (!done) process.exit(EXIT_CODES.internal);
  });
  const go = await new Promise<boolean>((resolve) => {
    const onMessage = (message: PhaseMessage): void => {
      if (message.kataDeployDaemon !== 'go') return;
      process.off('message', onMessage);
      resolve(message.go);
    };
    process.on('message', onMessage);
    send(start);
  });
  const finish = (): void => {
    done = true;
    process.disconnect();
  };
  if (!go) finish();
  return {
    go,
    report: (result) =>
      new Promise((resolve, reject) => {
        send(resultMessage(result), undefined, {}, (error) => {
          if (error !== null) return reject(error);
          finish();
          resolve(result.kind === 'ready' ? 0 : daemonExitCode(result));
        });
      }),
  };
}
