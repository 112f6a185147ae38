// Stands in for src/cli/exit-status.ts in the standalone binary's main script. The full CLI travels as the
// SEA asset kata-deploy-cli.cjs (its own CommonJS bundle) and is compiled only when a command other than
// the idle daemon runs (every command, and the daemon's phase children): the idle daemon, which runs
// src/cli/daemon-cli.ts alone, then does not hold the CLI's ~3 MB of source and what V8 builds from it.
import { getAsset } from 'node:sea';
import { compileFunction } from 'node:vm';

let loaded;

function fullCli() {
  if (loaded !== undefined) return loaded;
  const module = { exports: {} };
  const params = ['exports', 'require', 'module', '__filename', '__dirname'];
  const body = compileFunction(getAsset('kata-deploy-cli.cjs', 'utf8'), params, { filename: 'kata-deploy-cli.cjs' });
  // The SEA's own require: builtins only, which is all the bundle asks for (koffi comes from an asset too).
  body(module.exports, require, module, process.execPath, process.cwd());
  loaded = module.exports;
  return loaded;
}

/** The full CLI's cliExitStatus, loaded on first use. */
export function cliExitStatus(argv) {
  return fullCli().cliExitStatus(argv);
}
