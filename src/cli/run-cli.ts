import { asKataDeployError, KataDeployError } from '../core/errors.js';
import { unexpectedRunFailure } from '../core/host-error.js';
import { containerdVersion } from '../containerd/client.js';
import { ioctlKvmProber } from '../detect/kvm-prober.js';
import { systemClock } from '../host/clock.js';
import { childProcessRunner } from '../host/command-runner.js';
import { createLogger, type Logger } from '../host/logger.js';
import { NodeHostFs } from '../host/node-host-fs.js';
import type { ProgressPort } from '../host/progress.js';
import { formatNodeReport, runDetect } from '../modes/detect.js';
import { converged, provenLive, runInstall, summarise, wireWithoutKvm } from '../modes/install.js';
import { daemonPhaseFromEnv } from '../modes/daemon-phase-child.js';
import { runUninstall } from '../modes/uninstall.js';
import { underRestartBudget } from '../modes/restart-budget-scope.js';
import type { RawFlags } from '../settings/options.js';
import { settingsFromProcess } from '../settings/from-process.js';
import type { Settings } from '../settings/settings.js';
import { install } from '../transaction/install.js';
import { status } from '../transaction/status.js';
import { uninstall } from '../transaction/uninstall.js';
import type { WiringPorts } from '../wiring/transaction-context.js';
import { wireTransaction } from '../wiring/transaction-context.js';
import { colourPlan, paintFor } from './colour.js';
import { buildProgram, type CommandName } from './program.js';
import { logProgress } from './progress/log-progress.js';
import { ttyProgress } from './progress/tty-progress.js';
import { installJson, installText, statusText, uninstallText } from './render.js';

/** Exit status of `status` when Kata is not installed, not live or drifted (README "Exit codes"). */
export const STATUS_UNHEALTHY = 8;

function print(text: string): void {
  process.stdout.write(text);
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

function reportFailure(error: KataDeployError, asJson: boolean, log: Logger | undefined): number {
  if (asJson) print(json({ ok: false, error: { code: error.code, message: error.message, hint: error.hint } }));
  if (log !== undefined) log.error({ code: error.code, hint: error.hint }, error.message);
  else
    process.stderr.write(`kata-deploy: ${error.message}${error.hint === undefined ? '' : `\n  hint: ${error.hint}`}\n`);
  return error.exitCode;
}

/** Log levels at which the info-level progress of a phase is wanted at all. */
const SHOWS_PROGRESS: readonly Settings['logLevel'][] = ['trace', 'debug', 'info'];

/**
 * Logs and progress. A redrawn progress line only for a person at a terminal (stderr a TTY, logs not
 * JSON, no `--json`, a log level that shows info), with the log lines written above it; anywhere else
 * (pods, pipes, machine output) a log line at the start and end of each phase.
 */
async function logsAndProgress(settings: Settings): Promise<{ log: Logger; progress: ProgressPort }> {
  const tty = process.stderr.isTTY === true;
  if (tty && settings.logFormat !== 'json' && !settings.json && SHOWS_PROGRESS.includes(settings.logLevel)) {
    // Loaded only here: a run that logs JSON (every pod) never needs pino-pretty's ~50 modules.
    const { prettyLogger } = await import('../host/pretty-logger.js');
    const progress = ttyProgress(process.stderr, systemClock);
    return { log: prettyLogger(settings.logLevel, { write: (text) => progress.writeAbove(text) }), progress };
  }
  const log = createLogger(settings.logLevel, settings.logFormat, tty);
  return { log, progress: logProgress(log, systemClock) };
}

function realPorts(settings: Settings, progress: ProgressPort): WiringPorts {
  return {
    fs: new NodeHostFs(settings.hostRoot),
    runner: childProcessRunner,
    kvmProber: ioctlKvmProber,
    socketVersion: async (socket) => (await containerdVersion(socket)).version,
    clock: systemClock,
    progress,
  };
}

/** A phase child of `kata-deploy daemon` (daemon-phase-child.ts): the transaction's install or uninstall. */
async function runDaemonPhaseChild(settings: Settings, ports: WiringPorts, log: Logger): Promise<number> {
  const { becomePhaseChild, phaseStart, runDaemonPhase } = await import('../modes/daemon-command.js');
  const phase = daemonPhaseFromEnv();
  if (phase === undefined) {
    throw new KataDeployError('internal', 'kata-deploy daemon reached the full CLI outside a phase child', {
      hint: 'start it through cliExitStatus (src/cli/exit-status.ts), which runs the supervisor',
    });
  }
  const child = await becomePhaseChild(phaseStart(settings, process.stderr.isTTY === true));
  if (!child.go) return 0;
  const result = await runDaemonPhase(
    phase,
    settings,
    {
      fs: ports.fs,
      daemonSetName: settings.daemonSetName,
      ...(settings.podNamespace === undefined ? {} : { namespace: settings.podNamespace }),
      install: async (kube) => {
        try {
          const wired = await wireTransaction(settings, ports, log, true);
          const budgetPorts = { clock: ports.clock, log };
          const scope = await underRestartBudget(wired.ctx, wired.node.runtime.flavour, kube, settings, budgetPorts);
          const result = await install(scope.ctx).finally(() => scope.release());
          if (!provenLive(result)) {
            throw new KataDeployError(
              'restart-failed',
              `Kata is installed but the handlers were not proven live (${result.restart.reason})`,
              { hint: 'the daemon labels a node only after readiness; do not run it with --restart none' },
            );
          }
          return { kind: converged(result) ? 'converged' : 'installed', summary: summarise(result) };
        } catch (error) {
          const failure = asKataDeployError(error);
          if (failure.code === 'restart-failed')
            return { kind: 'rolled-back', summary: failure.message, error: failure };
          throw failure;
        }
      },
      uninstall: async (kube) => {
        const wired = await wireTransaction(settings, ports, log, false);
        const scope = await underRestartBudget(wired.ctx, wired.node.runtime.flavour, kube, settings, {
          clock: ports.clock,
          log,
        });
        await uninstall(scope.ctx).finally(() => scope.release());
      },
    },
    log,
  ).catch((thrown: unknown) => {
    const error = asKataDeployError(thrown);
    return phase === 'install'
      ? ({ kind: 'install-failed', error } as const)
      : ({ kind: 'uninstall-failed', error } as const);
  });
  return child.report(result);
}

async function runCommand(name: CommandName, flags: RawFlags): Promise<number> {
  let log: Logger | undefined;
  const asJson = flags.json === true;
  try {
    const settings = settingsFromProcess(flags);
    const output = await logsAndProgress(settings);
    log = output.log;
    log.debug('phase: settings parsed');
    for (const notice of settings.upstream.notices) log.warn(notice);
    const ports = realPorts(settings, output.progress);
    switch (name) {
      case 'detect': {
        const report = await runDetect(settings, ports, log);
        print(settings.json ? json(report) : formatNodeReport(report));
        return 0;
      }
      case 'install': {
        const result = await runInstall(settings, ports, log);
        // The plan formatter pulls in `diff`; only a --dry-run without --json prints it.
        const plan = !settings.json && result.dryRun ? await import('../transaction/format-plan.js') : undefined;
        print(
          settings.json
            ? json(installJson(result))
            : plan === undefined
              ? installText(result)
              : colourPlan(plan.formatInstallPlan(result), paintFor(process.stdout)),
        );
        return 0;
      }
      case 'uninstall': {
        const result = await runUninstall(settings, ports, log);
        print(settings.json ? json({ ok: true, ...result }) : uninstallText(result));
        return 0;
      }
      case 'status': {
        const report = await status(await wireWithoutKvm(settings, ports, log));
        print(settings.json ? json(report) : statusText(report));
        return report.healthy ? 0 : STATUS_UNHEALTHY;
      }
      case 'daemon':
        return await runDaemonPhaseChild(settings, ports, log);
    }
  } catch (error) {
    return reportFailure(unexpectedRunFailure(name, error), asJson, log);
  }
}

/** Parses argv, runs the command and returns the exit status; the only place that prints results. */
export async function runCli(argv: readonly string[]): Promise<number> {
  let exitCode = 0;
  const program = buildProgram(async (name, flags) => {
    exitCode = await runCommand(name, flags);
    return exitCode;
  });
  await program.parseAsync([...argv], { from: 'user' });
  return exitCode;
}
