import { customHandlers, withGuestPull } from '../core/custom-handlers.js';
import { moduleLoadPart } from './module-load-part.js';
import { checkUpstreamNodeFacts } from './upstream-node-checks.js';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_CONF_D } from '../containerd/config/default-imports.js';
import { parseSemVer } from '../core/containerd-version.js';
import { KataDeployError } from '../core/errors.js';
import { handlersFor } from '../core/handlers.js';
import { crioVersion } from '../detect/crio-version.js';
import { detectNode, type DetectPorts, type NodeReport } from '../detect/detect-node.js';
import type { Clock } from '../host/clock.js';
import type { Logger } from '../host/logger.js';
import type { ProgressPort } from '../host/progress.js';
import type { Settings } from '../settings/settings.js';
import type { TransactionContext } from '../transaction/context.js';
import { failpoint } from '../transaction/failpoint.js';
import { kataConfigPart, payloadPart } from './payload-parts.js';
import { runtimeConfigPart, validatingWhileStaging } from './runtime-config-part.js';
import { runtimeControl } from './runtime-control.js';
import { shimLaunchPart, unitMainPid } from './shim-launch-part.js';
import { validatorBinary } from './validator-binary.js';
import { applyKvmPolicy } from '../detect/kvm-policy.js';

/** The real ports a transaction is built from. */
export interface WiringPorts extends DetectPorts {
  readonly clock: Clock;
  /** Download and unpack progress (a terminal line, or log lines); none when absent. */
  readonly progress?: ProgressPort;
}

/** What the node looks like, and the transaction built for it. */
export interface Wired {
  readonly node: NodeReport;
  readonly ctx: TransactionContext;
}

async function fetchOptions(settings: Settings) {
  let caCertificates: string | undefined;
  if (settings.payloadCa !== undefined) {
    try {
      caCertificates = await readFile(settings.payloadCa, 'utf8');
    } catch (error) {
      throw new KataDeployError(
        'usage',
        `KATA_PAYLOAD_CA: cannot read ${settings.payloadCa}: ${(error as Error).message}`,
        { hint: 'point it at a PEM bundle readable by kata-deploy' },
      );
    }
  }
  return { httpsProxy: settings.httpsProxy, noProxy: settings.noProxy, caCertificates };
}

/**
 * Detects the node and assembles the transaction: the payload, Kata configs and runtime config parts,
 * and the runtime control for this flavour. `needKvm` refuses (exit 3) a node that cannot run VMs.
 */
export async function wireTransaction(
  settings: Settings,
  ports: WiringPorts,
  log: Logger,
  needKvm: boolean,
): Promise<Wired> {
  const node = await detectNode(settings, ports);
  log.debug('phase: node detected');
  await checkUpstreamNodeFacts(settings, node, ports.fs);
  if (needKvm) applyKvmPolicy(node.kvm, settings, log);
  const runtime = node.runtime;
  // `containerd --version` runs while the rest is set up and the payload unpacks; its refusal (another
  // release line than the daemon) surfaces when the runtime config is planned, before anything is switched.
  const validator = validatorBinary(settings.containerdBinary, ports.fs.root, runtime.flavour, runtime, ports.runner);
  const handlers = [
    ...withGuestPull(handlersFor(settings), settings.upstream.pullTypeMapping),
    ...customHandlers(settings.installDir, settings.upstream.customRuntimes, settings.multiInstallSuffix),
  ];
  const payloadPorts = {
    fs: ports.fs,
    log,
    clock: ports.clock,
    fetch: await fetchOptions(settings),
    ...(ports.progress === undefined ? {} : { progress: ports.progress }),
  };
  const control = runtimeControl(
    {
      flavour: runtime.flavour,
      unit: runtime.unit,
      socket: runtime.socket,
      systemdSocket: settings.systemdSocket,
      restartDeadlineMs: Math.max(30_000, settings.readinessTimeoutMs),
      forceSystemd: settings.restart === 'systemd',
      crioVersion: runtime.flavour === 'crio' ? await crioVersion(ports.fs, ports.runner) : undefined,
    },
    ports.fs,
    ports.clock,
    log,
  );
  const runtimeConfig = runtimeConfigPart(
    {
      flavour: runtime.flavour,
      configPath: runtime.configPath,
      daemonVersion: runtime.daemonVersion === undefined ? undefined : parseSemVer(runtime.daemonVersion),
      suffix: settings.multiInstallSuffix,
      debugLevel: settings.debug,
      ...(settings.upstream.containerdUserDropIn === undefined
        ? {}
        : { userDropIn: settings.upstream.containerdUserDropIn }),
    },
    ports.fs,
    ports.runner,
    validator,
    () => failpoint(settings, 'install:during-validation'),
  );
  const ctx: TransactionContext = {
    settings,
    handlers,
    fs: ports.fs,
    clock: ports.clock,
    log,
    control,
    shims: shimLaunchPart(
      {
        runtime: runtime.flavour === 'crio' ? 'crio' : 'containerd',
        daemonVersion: runtime.daemonVersion === undefined ? undefined : parseSemVer(runtime.daemonVersion),
        mainPid: () => unitMainPid(ports.fs, settings.systemdSocket, runtime.unit, log),
        unit: runtime.unit,
      },
      ports.fs,
    ),
    payload: validatingWhileStaging(payloadPart(settings, payloadPorts), runtimeConfig),
    modules: needKvm ? moduleLoadPart(node.modules, settings, ports.fs, log) : undefined,
    kataConfig: kataConfigPart(settings, payloadPorts, node.modules),
    runtimeConfigDirs: [path.posix.dirname(runtime.configPath), DEFAULT_CONF_D],
    runtimeConfig,
  };
  return { node, ctx };
}
