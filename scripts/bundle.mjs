// Builds the bare-metal CLI: dist/bundle/kata-deploy.mjs (or <argv[2]>/kata-deploy.mjs) and kata-deploy-cli.mjs
// beside it, ESM with every pure-JS dependency inlined, runnable with `node kata-deploy.mjs <command>` on a node
// without npm. Siblings it needs:
// - node_modules/koffi + node_modules/@koromix/koffi-<platform>: koffi loads a native .node prebuild
//   chosen at run time by platform; a bundler cannot inline a native addon, so koffi stays external
//   and is copied beside the bundle (the KVM ioctl probe degrades to "cannot load the FFI module"
//   without it; nothing else needs it).
// - thread-stream-worker.cjs, pino-worker.cjs, pino-pretty.cjs: pino runs pretty logging in a worker
//   thread that loads its target by file name, which bundling would break; pino reads their paths
//   from globalThis.__bundlerPathsOverrides, set by the banner below.
//
// compile-cache/: V8's code cache for every module of the CLI, made by the Node running this script (the
// Dockerfile's build stage runs the image's Node) in a child with no flags; portable (keyed by paths relative
// to it), so the directory may be copied anywhere. src/cli/compile-cache.ts takes it only on that very Node.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { enableCompileCache, flushCompileCache } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const MAKE_CACHE = '--make-compile-cache';
if (process.argv[2] === MAKE_CACHE) {
  await makeCompileCache(path.resolve(process.argv[3]));
  process.exit(0);
}

/** Compiles (and evaluates: their top level only declares) the CLI's chunks and koffi into <out>/compile-cache. */
async function makeCompileCache(bundleDir) {
  const [major, minor] = process.versions.node.split('.').map(Number);
  // Portable caches arrived in Node 24.12; an older Node ships the bundle without one.
  if (major < 24 || (major === 24 && minor < 12)) return;
  const dir = path.join(bundleDir, 'compile-cache');
  enableCompileCache({ directory: dir, portable: true });
  for (const name of readdirSync(bundleDir)
    .filter((file) => /^kata-deploy-cli.*\.mjs$/.test(file))
    .sort())
    await import(pathToFileURL(path.join(bundleDir, name)).href);
  try {
    // As the KVM probe loads it: import('koffi'), which takes the package's "import" entry (an ES module).
    const koffi = path.join(bundleDir, 'node_modules/koffi');
    const entry = JSON.parse(readFileSync(path.join(koffi, 'package.json'), 'utf8')).exports['.'].import;
    await import(pathToFileURL(path.join(koffi, entry)).href);
  } catch {
    // No prebuild for this platform: the CLI will not load it either.
  }
  flushCompileCache();
  writeFileSync(path.join(dir, 'made-by'), `${process.version} ${process.arch}\n`);
}

const root = path.join(import.meta.dirname, '..');
const out = path.resolve(process.argv[2] ?? path.join(root, 'dist', 'bundle'));
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const banner = [
  "import { createRequire as __kdCreateRequire } from 'node:module';",
  "import { fileURLToPath as __kdFileURLToPath } from 'node:url';",
  "import { dirname as __kdDirname, join as __kdJoin } from 'node:path';",
  'const require = __kdCreateRequire(import.meta.url);',
  'const __kdDir = __kdDirname(__kdFileURLToPath(import.meta.url));',
  "globalThis.__bundlerPathsOverrides = { 'thread-stream-worker': __kdJoin(__kdDir, 'thread-stream-worker.cjs'), " +
    "'pino-worker': __kdJoin(__kdDir, 'pino-worker.cjs'), 'pino-pretty': __kdJoin(__kdDir, 'pino-pretty.cjs') };",
].join('\n');

// Minified: @kubernetes/client-node is ~7 MB of generated source that V8 keeps resident; minifying
// takes the idle daemon from ~90 to ~75 MiB RSS (scripts/bench/kube-fleet.mjs measures it). keepNames
// keeps class and function names in stack traces and error names.
const { version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const common = {
  bundle: true,
  // src/cli/version.ts: no package.json travels with the bundle.
  define: { __KATA_DEPLOY_VERSION__: JSON.stringify(version) },
  platform: 'node',
  target: 'node24',
  legalComments: 'none',
  logLevel: 'warning',
  external: ['koffi'],
  minify: true,
  keepNames: true,
  sourcemap: 'linked',
};

// Two files: kata-deploy.mjs holds the entry and the idle daemon's supervisor (src/cli/daemon-cli.ts), and
// loads kata-deploy-cli.mjs, everything else, only for the other commands and the daemon's phase children.
// A single file would keep its whole source and the ES module facades of every builtin it imports resident
// in the idle daemon (scripts/bench/daemon-rss.mjs measures it).
const CLI_FILE = 'kata-deploy-cli.mjs';
await build({
  ...common,
  entryPoints: [path.join(root, 'src/cli/main.ts')],
  outfile: path.join(out, 'kata-deploy.mjs'),
  format: 'esm',
  // No banner: the supervisor needs neither `require` nor pino's worker paths (kata-deploy-cli.mjs has both).
  plugins: [
    {
      name: 'full-cli-beside',
      setup: (esbuild) =>
        esbuild.onResolve({ filter: /^\.\/exit-status\.js$/ }, () => ({ path: `./${CLI_FILE}`, external: true })),
    },
  ],
});
// The rest is split at its dynamic imports: an install loads neither the Kubernetes client (only with a node
// name), the download path nor the dry-run diff unless it uses them. One file of it all cost every command
// ~110 ms of start-up, parsing 2.9 MB it mostly did not run (`npm run bench -- payload` shows the phases).
// Chunks sit flat beside the entry: the banner finds pino's workers in the file's own directory.
await build({
  ...common,
  entryPoints: { [CLI_FILE.replace(/\.mjs$/, '')]: path.join(root, 'src/cli/exit-status.ts') },
  outdir: out,
  outExtension: { '.js': '.mjs' },
  chunkNames: `${CLI_FILE.replace(/\.mjs$/, '')}-[name]-[hash]`,
  splitting: true,
  format: 'esm',
  banner: { js: banner },
});

for (const [name, entry] of [
  ['thread-stream-worker', 'node_modules/thread-stream/lib/worker.js'],
  ['pino-worker', 'node_modules/pino/lib/worker.js'],
  ['pino-pretty', 'node_modules/pino-pretty/index.js'],
]) {
  await build({
    ...common,
    entryPoints: [path.join(root, entry)],
    outfile: path.join(out, `${name}.cjs`),
    format: 'cjs',
  });
}

const modules = path.join(out, 'node_modules');
cpSync(path.join(root, 'node_modules/koffi'), path.join(modules, 'koffi'), { recursive: true, dereference: true });
const prebuilds = path.join(root, 'node_modules/@koromix');
if (existsSync(prebuilds)) {
  for (const name of readdirSync(prebuilds))
    cpSync(path.join(prebuilds, name), path.join(modules, '@koromix', name), { recursive: true, dereference: true });
}
const { NODE_OPTIONS: _ignored, ...env } = process.env;
const made = spawnSync(process.execPath, [fileURLToPath(import.meta.url), MAKE_CACHE, out], { env, stdio: 'inherit' });
if (made.status !== 0) throw new Error(`making the compile cache failed (exit ${made.status})`);
console.log(`bundle: ${path.join(out, 'kata-deploy.mjs')} (+ pino workers, koffi under node_modules/, compile-cache/)`);
