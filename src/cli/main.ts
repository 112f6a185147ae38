#!/usr/bin/env node
import { enablePrivateCompileCache, enableShippedCompileCache } from './compile-cache.js';
import { unsupportedNodeMessage } from './node-version.js';

// Opt-in V8 code cache for the modules loaded below, in the node's /run/kata-deploy (see compile-cache.ts).
enablePrivateCompileCache(process.argv.slice(2), process.env);

// Everything but the version check loads dynamically, after it: static imports would run first.
const tooOld = unsupportedNodeMessage(process.version);
if (tooOld !== undefined) {
  process.stderr.write(`${tooOld}\n`);
  process.exit(2);
}
const argv = process.argv.slice(2);
const daemon = await import('./daemon-cli.js');
// The idle daemon never loads the full CLI (scripts/bundle.mjs keeps it in a file of its own), nor its cache.
if (daemon.isIdleDaemon(argv)) process.exitCode = await daemon.superviseFromCli(argv);
else {
  enableShippedCompileCache(import.meta.url, process.env);
  process.exitCode = await (await import('./exit-status.js')).cliExitStatus(argv);
}
