import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageVersion } from '../../src/cli/version.js';

const ROOT = path.join(import.meta.dirname, '..', '..');
const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };

describe('kata-deploy --version', () => {
  it("is package.json's version, read from the sources", () => {
    expect(packageVersion()).toBe(version);
    expect(version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('prints it for --version and -V from the tsc build, exit 0, nothing on stderr', () => {
    for (const flag of ['--version', '-V']) {
      const stdout = execFileSync(process.execPath, [path.join(ROOT, 'dist/cli/main.js'), flag], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      expect(stdout).toBe(`${version}\n`);
    }
  });

  it('lists the flag in --help', () => {
    const help = execFileSync(process.execPath, [path.join(ROOT, 'dist/cli/main.js'), '--help'], { encoding: 'utf8' });
    expect(help).toMatch(/-V, --version +print the version/);
  });
});
