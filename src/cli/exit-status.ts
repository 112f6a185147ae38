import { CommanderError } from 'commander';
import { runCli } from './run-cli.js';

/**
 * Runs the CLI and maps commander's own exits onto README "Exit codes": help and --version are
 * successes, any other parse error is a usage error (2). Shared by the ESM entry (main.ts) and the
 * standalone binary's CommonJS entry (standalone.ts), which cannot use top-level await.
 */
export async function cliExitStatus(argv: readonly string[]): Promise<number> {
  try {
    return await runCli(argv);
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    const success =
      error.exitCode === 0 || error.code === 'commander.helpDisplayed' || error.code === 'commander.version';
    return success ? 0 : 2;
  }
}
