import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MIN_NODE_MAJOR, unsupportedNodeMessage } from '../../src/cli/node-version.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CLI = path.join(ROOT, 'dist/cli/main.js');
/** The machine's own Node (20 on these hosts): what an operator runs `node kata-deploy …` with. */
const SYSTEM_NODE = '/usr/bin/node';
const systemVersion = ((): string | undefined => {
  const run = spawnSync(SYSTEM_NODE, ['--version'], { encoding: 'utf8' });
  return run.status === 0 ? run.stdout.trim() : undefined;
})();
const old = systemVersion === undefined ? undefined : Number.parseInt(systemVersion.slice(1), 10);

describe('the Node version check', () => {
  it('accepts the pinned major and newer, refuses older ones', () => {
    expect(unsupportedNodeMessage('v24.0.0')).toBeUndefined();
    expect(unsupportedNodeMessage('v25.1.0')).toBeUndefined();
    expect(unsupportedNodeMessage('v23.11.1')).toMatch(/needs Node\.js 24 or newer, this is v23\.11\.1/);
  });

  it('matches package.json "engines"', () => {
    const engines = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).engines.node as string;
    expect(engines).toBe(`>=${MIN_NODE_MAJOR}.0.0`);
  });

  it.skipIf(old === undefined || old >= MIN_NODE_MAJOR)(
    `exits 2 with one line saying what to run when the real entry starts on the system Node (${systemVersion})`,
    () => {
      for (const args of [['detect'], ['install', '--dry-run'], ['--help']]) {
        const run = spawnSync(SYSTEM_NODE, [CLI, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH } });
        expect(run.status, run.stderr).toBe(2);
        expect(run.stdout).toBe('');
        expect(run.stderr).toBe(
          `kata-deploy: needs Node.js 24 or newer, this is ${systemVersion}: run the standalone binary ` +
            'dist/standalone/kata-deploy (no Node needed), or install Node.js >= 24 (https://nodejs.org)\n',
        );
      }
    },
  );
});
