import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const SCRIPT = path.resolve(import.meta.dirname, '../../scripts/make-sample-payload.mjs');

/**
 * A small kata-static-shaped payload (every shim's config, symlinks, fake binaries) made once per test
 * run by scripts/make-sample-payload.mjs, the same generator the demo and the benchmark use.
 */
export function samplePayload(name = 'sample', extra: readonly string[] = []): string {
  const dir = path.join(tmpdir(), `kata-deploy-sample-payloads-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const out = path.join(dir, `${name}.tar.zst`);
  if (!existsSync(out)) execFileSync(process.execPath, [SCRIPT, '--out', out, ...extra], { stdio: 'ignore' });
  return out;
}
