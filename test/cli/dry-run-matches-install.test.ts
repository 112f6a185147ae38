import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parsePatch, applyPatch } from 'diff';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempRoot, type TempRoot } from '../helpers/temp-root.js';
import { samplePayload } from '../helpers/sample-payload.js';
import { corpusDir } from '../helpers/corpus.js';
import { corpusFiles } from '../containerd-config/fixtures.js';

const CLI = path.resolve(import.meta.dirname, '../../dist/cli/main.js');

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      {
        env: { PATH: process.env.PATH ?? '', KATA_REQUIRE_KVM: 'false', LOG_FORMAT: 'json' },
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : ((error as { code?: number }).code ?? 1), stdout, stderr });
      },
    );
  });
}

/** The unified diffs of a dry-run report, by the host path they change. */
function patchesByPath(report: string): Map<string, string> {
  const patches = new Map<string, string>();
  const body = report.slice(report.indexOf('\n# ') + 1);
  for (const chunk of body.split(/^# .*\n/m).filter((part) => part.startsWith('---'))) {
    const target = /^\+\+\+ (?:b(\/\S+)|\/dev\/null)/m.exec(chunk);
    const source = /^--- (?:a(\/\S+)|\/dev\/null)/m.exec(chunk);
    const hostPath = target?.[1] ?? source?.[1];
    if (hostPath !== undefined) patches.set(hostPath, chunk);
  }
  return patches;
}

let payload: string;
const roots: TempRoot[] = [];
beforeAll(() => {
  payload = samplePayload();
});
afterAll(async () => {
  await Promise.all(roots.map((root) => root.cleanup()));
});

const files = corpusFiles('containerd').filter((file) => !file.startsWith('k0s/containerd.d/'));
let compared = 0;

describe('install --dry-run prints exactly what install then writes', () => {
  it.each(files)('%s', async (file) => {
    const original = await readFile(path.join(corpusDir(), 'containerd', file));
    const temp = await makeTempRoot({ '/etc/containerd/config.toml': original, '/run/kata-deploy': { dir: true } });
    roots.push(temp);
    const args = [
      '--host-root',
      temp.root,
      '--payload',
      payload,
      '--shims',
      'qemu fc',
      '--runtime',
      'containerd',
      '--restart',
      'none',
    ];
    const plan = await cli(['install', '--dry-run', ...args]);
    if (plan.code !== 0) {
      expect(plan.code, plan.stderr).toBe(5);
      const refused = await cli(['install', ...args]);
      expect(refused.code).toBe(5);
      expect(await readFile(path.join(temp.root, 'etc/containerd/config.toml'))).toEqual(original);
      return;
    }
    const patch = patchesByPath(plan.stdout).get('/etc/containerd/config.toml');
    expect(patch, plan.stdout.slice(0, 2000)).toBeDefined();
    const installed = await cli(['install', ...args]);
    expect(installed.code, installed.stderr).toBe(0);
    const after = await readFile(path.join(temp.root, 'etc/containerd/config.toml'), 'utf8');
    const [parsed] = parsePatch(patch!);
    expect(applyPatch(original.toString('utf8'), parsed!)).toBe(after);
    compared += 1;
  });

  it('compared most of the corpus, not just refusals', () => {
    expect(compared).toBeGreaterThanOrEqual(files.length / 2);
  });
});
