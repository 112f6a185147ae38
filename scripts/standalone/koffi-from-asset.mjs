// Stands in for the `koffi` package in the standalone binary: its native module is an SEA asset, loaded
// with process.dlopen on first use (so commands that never call libc never write it out). A node's /tmp
// may be mounted noexec, where dlopen fails; /var/tmp and /run are tried next.
import { tmpdir } from 'node:os';
import { extractAsset } from './sea-assets.mjs';

let native;

function load() {
  if (native !== undefined) return native;
  const failures = [];
  for (const parent of [tmpdir(), '/var/tmp', '/run']) {
    try {
      const module = { exports: {} };
      process.dlopen(module, extractAsset('koffi.node', parent));
      native = module.exports;
      return native;
    } catch (error) {
      failures.push(`${parent}: ${error.message}`);
    }
  }
  throw new Error(`cannot load koffi's native module from the standalone binary (${failures.join('; ')})`);
}

export default new Proxy({}, { get: (_, key) => load()[key], has: (_, key) => key in load() });
