// Injected first into the standalone binary's bundle. The files Node must read from disk (koffi's native
// module for dlopen, pino's worker-thread scripts for pretty logs) travel as SEA assets; each is written
// to a private temp dir the first time it is needed and the dir is removed when the process exits.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { getRawAsset } from 'node:sea';

const dirs = new Map();

function removeExtracted() {
  for (const dir of dirs.values()) rmSync(dir, { recursive: true, force: true });
}

/** Writes asset `name` into a private dir under `parent` (once per process) and returns its path. */
export function extractAsset(name, parent = tmpdir()) {
  let dir = dirs.get(parent);
  if (dir === undefined) {
    dir = mkdtempSync(path.join(parent, 'kata-deploy-standalone-'));
    dirs.set(parent, dir);
    if (dirs.size === 1) process.once('exit', removeExtracted);
  }
  const file = path.join(dir, name);
  writeFileSync(file, new Uint8Array(getRawAsset(name)), { mode: 0o500, flag: 'w' });
  return file;
}

// pino and thread-stream look these up by name when they start a worker (see scripts/bundle.mjs).
const overrides = {};
for (const name of ['thread-stream-worker', 'pino-worker', 'pino-pretty']) {
  let file;
  Object.defineProperty(overrides, name, { enumerable: true, get: () => (file ??= extractAsset(`${name}.cjs`)) });
}
globalThis.__bundlerPathsOverrides = overrides;
