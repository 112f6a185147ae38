import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readInstalledManifest, resolveInterruptedSwitch, stagePayload } from '../../src/payload/index.js';
import { makeTempRoot, type TempRoot } from '../helpers/temp-root.js';
import { compress, craftTar } from '../helpers/tar-craft.js';
import {
  commitAndFinalize,
  minimalPayload,
  payloadPorts,
  payloadSettings,
  snapshot,
  writeArchive,
} from './fixtures.js';
// @ts-expect-error plain ESM script without types
import { makeSamplePayload } from '../../scripts/make-sample-payload.mjs';

const REPO = path.resolve(import.meta.dirname, '../..');

/** The child that installs: the compiled sources, so it is the real code path, in a real process. */
function childScript(build: string): string {
  return `
import { stagePayload, commitStagedPayload, finalizePayload } from '${build}/payload/index.js';
import { NodeHostFs } from '${build}/host/node-host-fs.js';
import { createLogger } from '${build}/host/logger.js';
import { systemClock } from '${build}/host/clock.js';
const [settingsJson, root, dieAt] = process.argv.slice(2);
const settings = JSON.parse(settingsJson);
// Dies on the spot when the install logs the chosen step: a crash at an exact point of the switch.
const destination = { write(line) { if (dieAt && line.includes(dieAt)) process.kill(process.pid, 'SIGKILL'); } };
const ports = { fs: new NodeHostFs(root), log: createLogger('debug', 'json', false, destination), clock: systemClock };
const staged = await stagePayload(settings, ports);
await finalizePayload(await commitStagedPayload(staged, settings, ports), settings, ports);
console.log('committed');
`;
}

describe('a kill in the middle of an install', () => {
  let host: TempRoot;
  let work: string;
  let build: string;

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'kata-crash-'));
    build = path.join(REPO, '.cache', `test-build-${process.pid}`);
    execFileSync(path.join(REPO, 'node_modules/.bin/tsc'), [
      '-p',
      path.join(REPO, 'tsconfig.json'),
      '--outDir',
      build,
      '--sourceMap',
      'false',
    ]);
    host = await makeTempRoot();
  });
  afterAll(async () => {
    await host?.cleanup();
    await rm(work, { recursive: true, force: true });
    await rm(build, { recursive: true, force: true });
  });

  it('leaves the old tree intact, and the next run converges on the new one', async () => {
    const v1 = writeArchive(work, 'v1.tar.zst', compress(craftTar(minimalPayload()), 'zst'));
    const ports = payloadPorts(host.root);
    await commitAndFinalize(await stagePayload(payloadSettings(v1), ports), payloadSettings(v1), ports);
    const oldTree = snapshot(path.join(host.root, 'opt/kata'));

    const v2 = path.join(work, 'v2.tar.zst');
    makeSamplePayload({ out: v2, size: 160 << 20, files: 300, compression: 'zst' });
    const settings = payloadSettings(v2);
    const script = path.join(work, 'child.mjs');
    writeFileSync(script, childScript(build));
    const child = spawn(process.execPath, [script, JSON.stringify(settings), host.root], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });

    const optDir = path.join(host.root, 'opt');
    const staging = (): string | undefined =>
      readdirSync(optDir).find((name) => name.startsWith('.kata-deploy-staging.'));
    for (let i = 0; i < 2000; i += 1) {
      const dir = staging();
      if (dir !== undefined && existsSync(path.join(optDir, dir, 'share/kata-containers'))) break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    child.kill('SIGKILL');
    await exited;

    expect(out).not.toContain('committed');
    expect(staging()).toBeDefined();
    expect(snapshot(path.join(host.root, 'opt/kata'))).toEqual(oldTree);

    const staged = await stagePayload(settings, ports);
    expect(staged.unchanged).toBe(false);
    expect((await commitAndFinalize(staged, settings, ports)).changed).toBe(true);
    expect(staging()).toBeUndefined();
    const reference = path.join(work, 'reference');
    mkdirSync(reference);
    execFileSync('tar', ['-x', '-f', v2, '-C', reference]);
    expect(snapshot(path.join(host.root, 'opt/kata'))).toEqual(snapshot(path.join(reference, 'opt/kata')));
    expect((await stagePayload(settings, ports)).unchanged).toBe(true);
  });

  for (const step of ['swapping it into place', 'the old tree is kept', 'payload switched into place']) {
    it(`puts the old tree back after a crash at "${step}", and the next run then installs the new one`, async () => {
      const root = await makeTempRoot();
      try {
        const ports = payloadPorts(root.root);
        const v1 = writeArchive(
          work,
          'a1.tar.zst',
          compress(craftTar(minimalPayload({ extra: [{ name: './opt/kata/bin/only-in-v1', body: 'old' }] })), 'zst'),
        );
        await commitAndFinalize(await stagePayload(payloadSettings(v1), ports), payloadSettings(v1), ports);
        const oldTree = snapshot(path.join(root.root, 'opt/kata'));
        const v2 = writeArchive(work, 'a2.tar.zst', compress(craftTar(minimalPayload({ version: '4.1.0' })), 'zst'));
        const settings = payloadSettings(v2);
        const script = path.join(work, 'child.mjs');
        writeFileSync(script, childScript(build));
        const child = spawn(process.execPath, [script, JSON.stringify(settings), root.root, step], { stdio: 'ignore' });
        const signal = await new Promise<string | null>((resolve) =>
          child.on('exit', (_code, killed) => resolve(killed)),
        );
        expect(signal).toBe('SIGKILL');

        const reference = path.join(work, `reference-${step.replaceAll(' ', '-')}`);
        mkdirSync(reference);
        execFileSync('tar', ['-x', '-f', v2, '-C', reference]);
        const newTree = snapshot(path.join(reference, 'opt/kata'));
        expect(snapshot(path.join(root.root, 'opt/kata'))).toEqual(
          step === 'swapping it into place' ? oldTree : newTree,
        );
        expect(existsSync(path.join(root.root, 'var/lib/kata-deploy/default/payload-manifest.next.json'))).toBe(true);
        expect(readdirSync(path.join(root.root, 'opt')).length).toBe(2);

        await resolveInterruptedSwitch(settings, ports);
        expect(snapshot(path.join(root.root, 'opt/kata'))).toEqual(oldTree);
        expect(readdirSync(path.join(root.root, 'opt'))).toEqual(['kata']);
        expect(
          (await readInstalledManifest(settings, ports))?.entries.some((entry) => entry.path === 'bin/only-in-v1'),
        ).toBe(true);
        expect(readdirSync(path.join(root.root, 'var/lib/kata-deploy/default'))).toEqual(['payload-manifest.json']);

        const staged = await stagePayload(settings, ports);
        expect(staged.unchanged).toBe(false);
        await commitAndFinalize(staged, settings, ports);
        expect(snapshot(path.join(root.root, 'opt/kata'))).toEqual(newTree);
        expect(readdirSync(path.join(root.root, 'opt'))).toEqual(['kata']);
        expect(readdirSync(path.join(root.root, 'var/lib/kata-deploy/default'))).toEqual(['payload-manifest.json']);
        expect((await stagePayload(settings, ports)).unchanged).toBe(true);
      } finally {
        await root.cleanup();
      }
    });
  }
});
