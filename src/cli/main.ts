#!/usr/bin/env node
import module from 'node:module';
import { unsupportedNodeMessage } from './node-version.js';

// V8's code cache for the modules loaded below, in the OS temp dir (NODE_DISABLE_COMPILE_CACHE=1 turns it off):
// a later run skips most of their compilation, about a fifth of a converged reinstall. Best effort: a
// read-only /tmp only means no cache.
module.enableCompileCache?.();

// Everything but the version check loads dynamically, after it: static imports would run first.
const tooOld = unsupportedNodeMessage(process.version);
if (tooOld !== undefined) {
  process.stderr.write(`${tooOld}\n`);
  process.exit(2);
}
const argv = process.argv.slice(2);
const daemon = await import('./daemon-cli.js');
// The idle daemon never loads the full CLI (scripts/bundle.mjs keeps it in a file of its own).
process.exitCode = daemon.isIdleDaemon(argv)
  ? await daemon.superviseFromCli(argv)
  : await (await import('./exit-status.js')).cliExitStatus(argv);
