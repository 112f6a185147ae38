// The image's entrypoint from scripts/image/runtime.list, the one place the Dockerfile, the test-bed image and
// the benchmarks take the long-lived supervisor's Node/V8 flags from.
import { readFileSync } from 'node:fs';
import path from 'node:path';

const LIST = path.resolve(import.meta.dirname, '../../image/runtime.list');

/** The flags between `node` and the entry script in the list's `entrypoint node <flags...> <script> daemon`. */
export function imageSupervisorFlags() {
  const line = readFileSync(LIST, 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('entrypoint '));
  const argv = line?.split(/\s+/).slice(1) ?? [];
  if (!argv[0]?.endsWith('/node') || argv.at(-1) !== 'daemon' || argv.length < 3)
    throw new Error(`${LIST}: the entrypoint is not "node <flags...> <script> daemon": ${line}`);
  return argv.slice(1, -2);
}
