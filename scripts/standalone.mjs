// Builds dist/standalone/kata-deploy (or <argv[2]>/kata-deploy): one executable for bare-metal nodes without
// Node.js, a Node single executable application (SEA). The running Node (the project's pinned Node 24 under
// `npm run build:standalone`) is copied and the blob is injected with postject; the blob holds:
// - main: src/cli/standalone.ts bundled as CommonJS (SEA runs its main script as CommonJS): the entry and the
//   idle daemon's supervisor, with src/cli/exit-status.ts replaced by standalone/cli-from-asset.mjs;
// - assets: kata-deploy-cli.cjs, the full CLI (exit-status.ts bundled as CommonJS, `koffi` replaced by
//   standalone/koffi-from-asset.mjs, standalone/sea-assets.mjs injected first), compiled on first use from
//   the V8 code cache this build makes for it (standalone/code-cache.mjs), another asset; koffi's
//   native prebuild for this platform and pino's three worker scripts (built by bundle.mjs), written to a
//   private temp dir on first use (a native addon and a worker script must be files).
// The ESM bundle for the image (scripts/bundle.mjs, dist/bundle/) is unaffected.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { inject } from 'postject';
import { CLI_ASSET, CLI_CACHE_ASSET } from './standalone/cli-asset-shape.mjs';

const root = path.join(import.meta.dirname, '..');
const out = path.resolve(process.argv[2] ?? path.join(root, 'dist', 'standalone'));
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(`build:standalone: Node ${process.version} would be embedded; run it with Node 24 (npm run ...)`);
  process.exit(2);
}
const work = mkdtempSync(path.join(tmpdir(), 'kata-deploy-standalone-build-'));
try {
  execFileSync(process.execPath, [path.join(root, 'scripts/bundle.mjs'), path.join(work, 'bundle')], {
    stdio: 'ignore',
  });
  const { version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  const koffiShim = path.join(root, 'scripts/standalone/koffi-from-asset.mjs');
  const cliShim = path.join(root, 'scripts/standalone/cli-from-asset.mjs');
  const common = {
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    minify: true,
    keepNames: true,
    legalComments: 'none',
    logLevel: 'warning',
    define: { __KATA_DEPLOY_VERSION__: JSON.stringify(version) },
    // version.ts reads package.json via import.meta.url only when the define above is absent (a dead branch here).
    logOverride: { 'empty-import-meta': 'silent' },
  };
  const koffiFromAsset = {
    name: 'koffi-from-asset',
    setup: (esbuild) => esbuild.onResolve({ filter: /^koffi$/ }, () => ({ path: koffiShim })),
  };
  // The main script is the entry and the idle daemon's supervisor; the full CLI is an asset it loads for the
  // other commands (scripts/standalone/cli-from-asset.mjs), as kata-deploy.mjs loads kata-deploy-cli.mjs.
  await build({
    ...common,
    entryPoints: [path.join(root, 'src/cli/standalone.ts')],
    outfile: path.join(work, 'main.cjs'),
    plugins: [
      koffiFromAsset,
      {
        name: 'full-cli-from-asset',
        setup: (esbuild) => esbuild.onResolve({ filter: /^\.\/exit-status\.js$/ }, () => ({ path: cliShim })),
      },
    ],
  });
  await build({
    ...common,
    entryPoints: [path.join(root, 'src/cli/exit-status.ts')],
    outfile: path.join(work, CLI_ASSET),
    inject: [path.join(root, 'scripts/standalone/sea-assets.mjs')],
    plugins: [koffiFromAsset],
  });
  const prebuild = `@koromix/koffi-${process.platform}-${process.arch}`;
  const prebuildDir = path.dirname(createRequire(import.meta.url).resolve(`${prebuild}/package.json`));
  // V8's code cache for the CLI asset, made by the Node that is embedded below, with no flags, as a command runs.
  const codeCache = path.join(work, CLI_CACHE_ASSET);
  const { NODE_OPTIONS: _ignored, ...plainEnv } = process.env;
  execFileSync(
    process.execPath,
    [path.join(root, 'scripts/standalone/code-cache.mjs'), path.join(work, CLI_ASSET), codeCache],
    { stdio: 'inherit', env: plainEnv },
  );
  const assets = {
    'koffi.node': path.join(prebuildDir, `${process.platform}_${process.arch}`, 'koffi.node'),
    [CLI_ASSET]: path.join(work, CLI_ASSET),
    [CLI_CACHE_ASSET]: codeCache,
  };
  for (const name of ['thread-stream-worker', 'pino-worker', 'pino-pretty'])
    assets[`${name}.cjs`] = path.join(work, 'bundle', `${name}.cjs`);
  const config = {
    main: path.join(work, 'main.cjs'),
    output: path.join(work, 'sea-prep.blob'),
    disableExperimentalSEAWarning: true,
    useCodeCache: true,
    assets,
  };
  writeFileSync(path.join(work, 'sea-config.json'), JSON.stringify(config));
  execFileSync(process.execPath, ['--experimental-sea-config', path.join(work, 'sea-config.json')], {
    stdio: 'ignore',
  });
  mkdirSync(out, { recursive: true });
  const binary = path.join(out, 'kata-deploy');
  rmSync(binary, { force: true });
  copyFileSync(process.execPath, binary);
  chmodSync(binary, 0o755);
  // npm's Node build carries ~18 MB of debug info a node never needs; binutils' strip drops it when present.
  if (spawnSync('strip', ['--version'], { stdio: 'ignore' }).status === 0) execFileSync('strip', [binary]);
  // The fuse is the marker Node looks for to know a blob was injected (Node's SEA documentation).
  await inject(binary, 'NODE_SEA_BLOB', readFileSync(config.output), {
    sentinelFuse: 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2',
  });
  console.log(`standalone: ${binary} (Node ${process.version}, kata-deploy ${version})`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
