// Stands in for src/cli/exit-status.ts in the standalone binary's main script. The full CLI travels as the
// SEA asset kata-deploy-cli.cjs (its own CommonJS bundle) and is compiled only when a command other than
// the idle daemon runs (every command, and the daemon's phase children): the idle daemon, which runs
// src/cli/daemon-cli.ts alone, then does not hold the CLI's ~3 MB of source and what V8 builds from it.
// The build ships V8's code cache for it (code-cache.mjs): compiling the 3 MB then takes ~4 ms, not ~80.
// `NODE_DEBUG=kata-deploy-sea` says whether V8 took the cache.
import { getAsset } from 'node:sea';
import { debuglog } from 'node:util';
import { compileFunction } from 'node:vm';
import { CLI_ASSET, CLI_CACHE_ASSET, CLI_PARAMS } from './cli-asset-shape.mjs';

const debug = debuglog('kata-deploy-sea');
let loaded;

function fullCli() {
  if (loaded !== undefined) return loaded;
  const module = { exports: {} };
  const body = compileFunction(getAsset(CLI_ASSET, 'utf8'), CLI_PARAMS, {
    filename: CLI_ASSET,
    cachedData: new Uint8Array(getAsset(CLI_CACHE_ASSET)),
  });
  debug('code cache for %s %s', CLI_ASSET, body.cachedDataRejected ? 'rejected' : 'accepted');
  // The SEA's own require: builtins only, which is all the bundle asks for (koffi comes from an asset too).
  body(module.exports, require, module, process.execPath, process.cwd());
  loaded = module.exports;
  return loaded;
}

/** The full CLI's cliExitStatus, loaded on first use. */
export function cliExitStatus(argv) {
  return fullCli().cliExitStatus(argv);
}
