// Runs every benchmark in scripts/bench/ in name order; each prints its own table of figures with the
// baseline measured in the same run beside them.
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const dir = path.join(import.meta.dirname, 'bench');
const only = process.argv[2];
let failed = 0;
for (const file of readdirSync(dir)
  .filter((name) => name.endsWith('.mjs'))
  .sort()) {
  if (only !== undefined && !file.includes(only)) continue;
  console.log(`\n== ${file}`);
  const result = spawnSync(process.execPath, [path.join(dir, file)], { stdio: 'inherit' });
  if (result.status !== 0) failed += 1;
}
process.exit(failed === 0 ? 0 : 1);
