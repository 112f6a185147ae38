import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = path.join(import.meta.dirname, '..', '..');
let dir: string;
/** The machine's own Node when it is older than the CLI needs (20 on these hosts), else undefined. */
const olderSystemNode = ((): string | undefined => {
  if (!existsSync('/usr/bin/node')) return undefined;
  const version = spawnSync('/usr/bin/node', ['--version'], { encoding: 'utf8' }).stdout.trim();
  return Number.parseInt(version.slice(1), 10) < 24 ? version : undefined;
})();

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'kata-deploy-bundle-'));
  execFileSync(process.execPath, [path.join(root, 'scripts/bundle.mjs'), path.join(dir, 'out')], { stdio: 'pipe' });
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('single-file CLI bundle', () => {
  it('runs detect --json from a directory without the project or its node_modules', () => {
    const stdout = execFileSync(process.execPath, [path.join(dir, 'out', 'kata-deploy.mjs'), 'detect', '--json'], {
      cwd: dir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const report = JSON.parse(stdout) as { arch: string; shims: unknown[]; runtime: { flavour: string } };
    expect(report.arch).toMatch(/^(x86_64|aarch64|ppc64le|s390x)$/);
    expect(report.shims.length).toBeGreaterThan(0);
    expect(typeof report.runtime.flavour).toBe('string');
  });

  it("prints package.json's version for --version and -V (inlined: no package.json beside the bundle)", () => {
    const { version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const stdout = execFileSync(process.execPath, [path.join(dir, 'out', 'kata-deploy.mjs'), flag], {
        cwd: dir,
        encoding: 'utf8',
      });
      expect(stdout).toBe(`${version}\n`);
    }
  });

  it.skipIf(olderSystemNode === undefined)(
    `refuses the system Node (${olderSystemNode}) in one line with exit 2, before loading anything`,
    () => {
      const run = spawnSync('/usr/bin/node', [path.join(dir, 'out', 'kata-deploy.mjs'), 'detect'], {
        encoding: 'utf8',
      });
      expect(run.status, run.stderr).toBe(2);
      expect(run.stderr).toMatch(
        new RegExp(
          `^kata-deploy: needs Node\\.js 24 or newer, this is ${olderSystemNode}: .*dist/standalone/kata-deploy.*\\n$`,
        ),
      );
    },
  );

  it('rejects an unknown command with the usage exit status', () => {
    let status = 0;
    try {
      execFileSync(process.execPath, [path.join(dir, 'out', 'kata-deploy.mjs'), 'no-such-command'], {
        cwd: dir,
        stdio: 'pipe',
      });
    } catch (error) {
      status = (error as { status: number }).status;
    }
    expect(status).toBe(2);
  });
});
