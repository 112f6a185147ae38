import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// What the idle `kata-deploy daemon` process loads, from a module-load trace (module.registerHooks in a
// preload the daemon's children do not get: they start without its flags). The daemon loads its whole
// graph before it starts the install child, so a child that refuses its arguments at once (exit 2) ends
// the run without touching this machine, and the trace is complete.
const root = path.resolve(import.meta.dirname, '../..');
const HOOK = [
  "import { registerHooks } from 'node:module';",
  'registerHooks({ load(url, context, next) {',
  "  process.stderr.write('LOADED ' + url + '\\n');",
  '  return next(url, context);',
  '} });',
].join('\n');
const TRACE = `data:text/javascript,${encodeURIComponent(HOOK)}`;

function loadedByIdleDaemon(entry: string): string[] {
  const run = spawnSync(process.execPath, [`--import=${TRACE}`, entry, 'daemon', '--no-such-flag'], {
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  expect(run.status, run.stderr).toBe(2);
  return run.stderr
    .split('\n')
    .filter((line) => line.startsWith('LOADED '))
    .map((line) => line.slice('LOADED '.length));
}

describe('the idle daemon loads the supervisor only', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'kata-deploy-footprint-'));
    execFileSync(process.execPath, [path.join(root, 'scripts/bundle.mjs'), dir], { stdio: 'pipe' });
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('from dist/: a few of our modules, no dependency, nothing of settings, Kubernetes, payload or transaction', () => {
    const files = loadedByIdleDaemon(path.join(root, 'dist/cli/main.js'))
      .filter((url) => url.startsWith('file:'))
      .map((url) => path.relative(root, new URL(url).pathname));
    expect(files).toContain('dist/modes/daemon-supervisor.js');
    expect(files.filter((file) => !file.startsWith('dist/'))).toEqual([]);
    expect(
      files.filter((file) => /^dist\/(settings|kube|payload|transaction|wiring|containerd|crio)\//.test(file)),
    ).toEqual([]);
    expect(files).not.toContain('dist/cli/run-cli.js');
  });

  it('from the bundle: kata-deploy.mjs alone, never kata-deploy-cli.mjs', () => {
    const files = loadedByIdleDaemon(path.join(dir, 'kata-deploy.mjs')).filter((url) => url.startsWith('file:'));
    expect(files.map((url) => path.basename(new URL(url).pathname))).toEqual(['kata-deploy.mjs']);
  });

  it('from the bundle: no builtin but child_process (an import hoisted into the entry stays in its memory)', () => {
    const builtins = loadedByIdleDaemon(path.join(dir, 'kata-deploy.mjs')).filter((url) => url.startsWith('node:'));
    expect(builtins).toEqual(['node:child_process']);
  });
});
