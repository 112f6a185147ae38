import { parseSemVer } from '../core/containerd-version.js';
import { KataDeployError } from '../core/errors.js';
import { containerdBinary, containerdCommand } from '../containerd/config/validator.js';
import type { RuntimeReport } from '../detect/runtime.js';
import type { CommandRunner } from '../host/command-runner.js';
import type { RuntimeFlavour } from '../settings/settings.js';

/** The containerd that validates configs, and the host root whose loader runs it (if that works). */
export interface ValidatorChoice {
  readonly binary: string;
  readonly loaderRoot: string | undefined;
}

/**
 * Picks the containerd that validates configs and checks it is the same release line as the daemon
 * that will read them: containerd 1.6 accepts drop-ins that 2.x merges differently (and the reverse),
 * so a validation by the wrong binary would approve a config the node then breaks on. A dynamic binary
 * inside a mounted host root runs through the host's loader and libraries when the mount carries them
 * (the DaemonSet's /host/usr does on a merged-/usr host), and directly otherwise.
 */
export async function validatorBinary(
  explicit: string | undefined,
  hostRoot: string,
  flavour: RuntimeFlavour,
  runtime: RuntimeReport,
  runner: CommandRunner,
): Promise<ValidatorChoice> {
  const binary = containerdBinary({ hostRoot, flavour, ...(explicit === undefined ? {} : { binary: explicit }) });
  const version = async (loaderRoot: string | undefined) => {
    const command = containerdCommand(binary, loaderRoot, ['--version']);
    const result = await runner.run(command.file, command.args, { timeoutMs: 10_000 });
    return result.exitCode === 0 ? parseSemVer(result.stdout) : undefined;
  };
  const viaLoader = containerdCommand(binary, hostRoot, []).file !== binary ? await version(hostRoot) : undefined;
  const loaderRoot = viaLoader === undefined ? undefined : hostRoot;
  if (flavour === 'crio' || runtime.daemonVersionSource !== 'socket' || runtime.daemonVersion === undefined)
    return { binary, loaderRoot };
  const own = viaLoader ?? (await version(undefined));
  const daemon = parseSemVer(runtime.daemonVersion);
  if (own === undefined || daemon === undefined) return { binary, loaderRoot };
  if (own.major !== daemon.major || own.minor !== daemon.minor) {
    throw new KataDeployError(
      'config-refused',
      `the running containerd is ${runtime.daemonVersion} but the binary that would validate its config (${binary}) ` +
        `is ${own.major}.${own.minor}.${own.patch}`,
      {
        hint: 'pass --containerd-binary (CONTAINERD_BINARY) naming the binary the daemon runs; nothing was changed',
      },
    );
  }
  return { binary, loaderRoot };
}
