#!/usr/bin/env node
import { CommanderError } from 'commander';
import { runCli } from './run-cli.js';

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
