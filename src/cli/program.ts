import { Command, Option } from 'commander';
import { OPTION_SPECS, type RawFlags } from '../settings/options.js';
import { packageVersion } from './version.js';

/** What a command does once its flags are parsed; returns the exit status. */
export type CommandAction = (name: CommandName, flags: RawFlags) => Promise<number>;

export type CommandName = 'detect' | 'install' | 'uninstall' | 'status' | 'daemon';

const COMMANDS: readonly { name: CommandName; summary: string }[] = [
  {
    name: 'detect',
    summary: 'report the CPU arch, KVM, TEE support, runnable shims and the container runtime (read-only)',
  },
  { name: 'install', summary: 'install Kata on this node: payload, runtime handlers, restart, readiness, label' },
  { name: 'uninstall', summary: 'remove exactly what install added and restore the runtime config byte for byte' },
  { name: 'status', summary: 'show what is installed, whether the handlers are live, and any drift' },
  { name: 'daemon', summary: 'DaemonSet entrypoint: install, label, serve health, uninstall on teardown' },
];

function envHelp(env: readonly string[]): string {
  return env.length === 0 ? '' : ` [env: ${env.map((name) => name.replace('{ARCH}', '<ARCH>')).join(', ')}]`;
}

/**
 * Builds the `kata-deploy` command line from the option table, so every setting has a flag and the
 * same environment variables upstream kata-deploy reads.
 */
export function buildProgram(action: CommandAction): Command {
  const program = new Command('kata-deploy')
    .description('Install Kata Containers on a Kubernetes node, and remove it again.')
    .version(packageVersion(), '-V, --version', 'print the version (package.json) and exit')
    .showHelpAfterError()
    .exitOverride();
  for (const { name, summary } of COMMANDS) {
    const command = program.command(name).description(summary).exitOverride();
    for (const spec of OPTION_SPECS) {
      command.addOption(new Option(spec.flag, `${spec.description}${envHelp(spec.env)}`));
    }
    command.action(async (options: RawFlags) => {
      program.setOptionValue('exitCode', await action(name, options));
    });
  }
  return program;
}
