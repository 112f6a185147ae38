import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import path from 'node:path';

const REPO = path.resolve(import.meta.dirname, '../..');
const SCRIPT = path.join(REPO, 'scripts/make-sample-payload.mjs');

/**
 * A small kata-static-shaped payload (every shim's config, symlinks, fake binaries) from
 * scripts/make-sample-payload.mjs, the generator the demo and the benchmarks use. Cached in .cache/
 * under a digest of the generator and its arguments, so test runs leave nothing in /tmp.
 */
export function samplePayload(name = 'sample', extra: readonly string[] = []): string {
  const key = createHash('sha256')
    .update(readFileSync(SCRIPT))
    .update(readFileSync(path.join(REPO, 'scripts/sample-kata-config.mjs')))
    .update(JSON.stringify(extra))
    .digest('hex')
    .slice(0, 16);
  const dir = path.join(REPO, '.cache/test-payloads');
  mkdirSync(dir, { recursive: true });
  const out = path.join(dir, `${name}-${key}.tar.zst`);
  if (!existsSync(out)) {
    const partial = `${out}.${process.pid}.partial.tar.zst`;
    execFileSync(process.execPath, [SCRIPT, '--out', partial, ...extra], { stdio: 'ignore' });
    renameSync(partial, out);
  }
  return out;
}
