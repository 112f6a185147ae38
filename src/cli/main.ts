#!/usr/bin/env node
import { cliExitStatus } from './exit-status.js';

process.exitCode = await cliExitStatus(process.argv.slice(2));
