#!/usr/bin/env node
import { unsupportedNodeMessage } from './node-version.js';

// Everything but the version check loads dynamically, after it: static imports would run first.
const tooOld = unsupportedNodeMessage(process.version);
if (tooOld !== undefined) {
  process.stderr.write(`${tooOld}\n`);
  process.exit(2);
}
const { cliExitStatus } = await import('./exit-status.js');

process.exitCode = await cliExitStatus(process.argv.slice(2));
