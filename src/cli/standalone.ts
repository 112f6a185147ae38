import { cliExitStatus } from './exit-status.js';

/**
 * Entry of the standalone binary (scripts/standalone.mjs): a Node single executable application runs its
 * main script as CommonJS, where top-level await is not available. A rejection is left unhandled on
 * purpose: Node then prints it and exits 1, as main.ts does for an unexpected error.
 */
void cliExitStatus(process.argv.slice(2)).then((status) => {
  process.exitCode = status;
});
