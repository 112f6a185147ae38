import { KataDeployError } from '../core/errors.js';
import type { SemVer } from '../core/containerd-version.js';
import { FLAVOUR_LAYOUTS } from '../core/flavours.js';
import { socketProbe, waitForHandlers } from '../containerd/readiness.js';
import { criStatus } from '../containerd/cri-status.js';
import type { Clock } from '../host/clock.js';
import type { HostFs } from '../host/host-fs.js';
import type { Logger } from '../host/logger.js';
import type { RuntimeFlavour } from '../settings/settings.js';
import { connectSystemd } from '../systemd/systemd-client.js';
import { restartFailure } from '../systemd/restart-outcome.js';
import type { Readiness, RuntimeControl } from '../transaction/parts.js';

export interface RuntimeControlOptions {
  readonly flavour: RuntimeFlavour;
  readonly unit: string | undefined;
  /** Host path of the runtime's socket. */
  readonly socket: string;
  /** Host path of systemd's private socket. */
  readonly systemdSocket: string;
  readonly restartDeadlineMs: number;
  /** `--restart systemd`: restart the unit even where the flavour would reload or take SIGHUP. */
  readonly forceSystemd: boolean;
  /** CRI-O's release, when known: only 1.26 and later reload runtimes on SIGHUP. */
  readonly crioVersion?: SemVer | undefined;
}

/** CRI-O reloads its runtime table on SIGHUP from 1.26 on; older releases need a restart. */
export function crioReloadsOnSighup(version: SemVer | undefined): boolean {
  return version !== undefined && (version.major > 1 || (version.major === 1 && version.minor >= 26));
}

const SIGHUP = 1;

/**
 * Restarts the runtime through systemd's private D-Bus socket (CRI-O gets SIGHUP, k0s nothing: it
 * reloads its drop-ins) and asks the runtime's own socket whether it serves the handlers.
 */
export function runtimeControl(options: RuntimeControlOptions, fs: HostFs, clock: Clock, log: Logger): RuntimeControl {
  const layout = FLAVOUR_LAYOUTS[options.flavour];
  const unit = options.unit ?? layout.unit;
  const restarts = unit !== undefined && (options.forceSystemd || layout.strategy !== 'k0s-drop-in');
  const realSocket = () => fs.realPath(options.socket);
  const sighup =
    layout.strategy === 'crio-drop-in' && !options.forceSystemd && crioReloadsOnSighup(options.crioVersion);
  return {
    baseHandlers: layout.strategy === 'crio-drop-in' ? [] : ['runc'],
    description:
      `${unit === undefined ? options.flavour : `systemd unit ${unit}`} via ${options.systemdSocket}, ` +
      `runtime socket ${options.socket}`,
    restarts,
    async preflight() {
      if (restarts) await assertSystemdReachable(fs, options.systemdSocket);
    },
    async restart() {
      if (!restarts || unit === undefined) return;
      const systemd = await connectSystemd(await fs.realPath(options.systemdSocket), log);
      try {
        if (sighup) {
          await systemd.signalUnit(unit, SIGHUP);
          return;
        }
        const outcome = await systemd.restartUnit(unit, options.restartDeadlineMs);
        const failure = restartFailure(outcome);
        if (failure !== undefined) throw failure;
      } finally {
        systemd.close();
      }
    },
    async liveHandlers() {
      try {
        return (await criStatus(await realSocket(), 3000)).handlers;
      } catch {
        return undefined;
      }
    },
    async liveRuntimes() {
      try {
        return (await criStatus(await realSocket(), 3000)).runtimes;
      } catch {
        return undefined;
      }
    },
    async waitForHandlers(handlers, deadlineMs): Promise<Readiness> {
      const result = await waitForHandlers(socketProbe(await realSocket()), handlers, deadlineMs, clock, log);
      return result.ready ? { ready: true, elapsedMs: result.elapsedMs } : { ready: false, reason: result.reason };
    },
  };
}

/** Refuses early, before anything is written, when a restart is required but systemd cannot be reached. */
export async function assertSystemdReachable(fs: HostFs, systemdSocket: string): Promise<void> {
  const stats = await fs.stat(systemdSocket);
  if (stats === undefined || !stats.isSocket()) {
    throw new KataDeployError('restart-failed', `systemd socket ${systemdSocket} does not exist under the host root`, {
      hint:
        'mount /run/systemd/private into the pod (or pass --systemd-socket), or use --restart none and restart ' +
        'the runtime yourself',
    });
  }
}
