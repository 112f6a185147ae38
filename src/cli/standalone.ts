import { isIdleDaemon, superviseFromCli } from './daemon-cli.js';
import { cliExitStatus } from './exit-status.js';

/**
 * Entry of the standalone binary (scripts/standalone.mjs): a Node single executable application runs its
 * main script as CommonJS, where top-level await is not available. A rejection is left unhandled on
 * purpose: Node then prints it and exits 1, as main.ts does for an unexpected error. The idle daemon
 * runs only the supervisor, as from main.ts.
 */
const argv = process.argv.slice(2);
void (isIdleDaemon(argv) ? superviseFromCli(argv) : cliExitStatus(argv)).then((status) => {
  process.exitCode = status;
});
