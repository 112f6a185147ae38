import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * The shared corpus of real configs: `shared/` sits beside the repository (in CI a copy is laid next to
 * the clone), so look there first and fall back to the workspace's copy.
 */
export function corpusDir(): string {
  const beside = path.resolve(import.meta.dirname, '../../../shared/corpus');
  if (existsSync(beside)) return beside;
  const workspace = '/work/shared/corpus';
  if (existsSync(workspace)) return workspace;
  throw new Error(`shared/corpus not found beside the repository (${beside}) nor at ${workspace}`);
}
