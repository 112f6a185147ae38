#!/usr/bin/env node
import { unsupportedNodeMessage } from './node-version.js';

// Everything but the version check loads dynamically, after it: static imports would run first.
const tooOld = unsupportedNodeMessage(process.version);
if (tooOld !== undefined) {
  process.stderr.write(`${tooOld}\n`);
  process.exit(2);
}
const { CommanderError } = await import('commander');
const { runCli } = await import('./run-cli.js');

try {
  process.exitCode = await runCli(process.argv.slice(2));
} catch (error) {
  if (error instanceof CommanderError) {
    process.exitCode =
      error.exitCode === 0 || error.code === 'commander.helpDisplayed' || error.code === 'commander.version' ? 0 : 2;
  } else {
    throw error;
  }
}
