import { asKataDeployError, KataDeployError } from '../core/errors.js';
import { ioctlKvmProber } from '../detect/kvm-prober.js';
import { containerdVersion } from '../containerd/client.js';
import { execaRunner } from '../host/command-runner.js';
import { createLogger, type Logger } from '../host/logger.js';
import { NodeHostFs } from '../host/node-host-fs.js';
import { formatNodeReport, runDetect } from '../modes/detect.js';
import type { RawFlags } from '../settings/options.js';
import { settingsFromProcess } from '../settings/from-process.js';
import { buildProgram, type CommandName } from './program.js';

function print(text: string): void {
  process.stdout.write(text);
}

function reportFailure(error: KataDeployError, json: boolean, log: Logger | undefined): number {
  if (json) print(`${JSON.stringify({ ok: false, error: { code: error.code, message: error.message, hint: error.hint } }, null, 2)}\n`);
  if (log !== undefined) log.error({ code: error.code, hint: error.hint }, error.message);
  else process.stderr.write(`kata-deploy: ${error.message}${error.hint === undefined ? '' : `\n  hint: ${error.hint}`}\n`);
  return error.exitCode;
}

async function runCommand(name: CommandName, flags: RawFlags): Promise<number> {
  let log: Logger | undefined;
  const json = flags.json === true;
  try {
    const settings = settingsFromProcess(flags);
    log = createLogger(settings.logLevel, settings.logFormat, process.stderr.isTTY === true);
    if (name !== 'detect') {
      throw new KataDeployError('usage', `"kata-deploy ${name}" is not implemented yet`, { hint: 'only "detect" works in this version; nothing was changed on the node' });
    }
    const fs = new NodeHostFs(settings.hostRoot);
    const report = await runDetect(settings, {
      fs,
      runner: execaRunner,
      kvmProber: ioctlKvmProber,
      socketVersion: async (socket) => (await containerdVersion(socket)).version,
    }, log);
    print(settings.json ? `${JSON.stringify(report, null, 2)}\n` : formatNodeReport(report));
    return 0;
  } catch (error) {
    return reportFailure(asKataDeployError(error), json, log);
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
