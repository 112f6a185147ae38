// Run by scripts/standalone.mjs with the very Node binary the standalone embeds: compiles the full CLI asset
// the way scripts/standalone/cli-from-asset.mjs does and writes V8's code cache for it. V8 accepts the cache
// only from the same V8 build with the same flags; otherwise it compiles the source, as without a cache.
//
//   node scripts/standalone/code-cache.mjs <kata-deploy-cli.cjs> <out file>
import { readFileSync, writeFileSync } from 'node:fs';
import { compileFunction } from 'node:vm';
import { CLI_ASSET, CLI_PARAMS } from './cli-asset-shape.mjs';

const [source, out] = process.argv.slice(2);
const compiled = compileFunction(readFileSync(source, 'utf8'), CLI_PARAMS, {
  filename: CLI_ASSET,
  produceCachedData: true,
});
if (!compiled.cachedDataProduced) throw new Error(`V8 produced no code cache for ${source}`);
writeFileSync(out, compiled.cachedData);
