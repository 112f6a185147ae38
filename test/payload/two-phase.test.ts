import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  commitStagedPayload,
  finalizePayload,
  readInstalledManifest,
  resolveInterruptedSwitch,
  revertPayload,
  stagePayload,
} from '../../src/payload/index.js';
import { exchangePaths } from '../../src/payload/libc.js';
import { compress, craftTar } from '../helpers/tar-craft.js';
import { makeTempRoot, type TempRoot } from '../helpers/temp-root.js';
import {
  commitAndFinalize,
  minimalPayload,
  payloadPorts,
  payloadSettings,
  snapshot,
  writeArchive,
} from './fixtures.js';

let work: string;
let v1: string;
let v2: string;
beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'kata-two-phase-'));
  v1 = writeArchive(
    work,
    'v1.tar.zst',
    compress(craftTar(minimalPayload({ extra: [{ name: './opt/kata/bin/only-in-v1', body: 'old' }] })), 'zst'),
  );
  v2 = writeArchive(work, 'v2.tar.zst', compress(craftTar(minimalPayload({ version: '4.1.0' })), 'zst'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

let host: TempRoot;
afterEach(async () => host?.cleanup());

const STATE = 'var/lib/kata-deploy/default';

async function installV1(): Promise<{ tree: Record<string, string>; manifest: string }> {
  const ports = payloadPorts(host.root);
  await commitAndFinalize(await stagePayload(payloadSettings(v1), ports), payloadSettings(v1), ports);
  return {
    tree: snapshot(path.join(host.root, 'opt/kata')),
    manifest: readFileSync(path.join(host.root, STATE, 'payload-manifest.json'), 'utf8'),
  };
}

describe('a payload switch is two-phase: commit keeps the old tree until finalize or revert', () => {
  it('keeps the old tree beside the new one after commit, and a revert puts it and its manifest back', async () => {
    host = await makeTempRoot();
    const before = await installV1();
    const ports = payloadPorts(host.root);
    const settings = payloadSettings(v2);
    const committed = await commitStagedPayload(await stagePayload(settings, ports), settings, ports);
    expect(readFileSync(path.join(host.root, 'opt/kata/VERSION'), 'utf8')).toBe('4.1.0\n');
    expect(committed.oldTree).toBeDefined();
    expect(path.basename(committed.oldTree!)).toMatch(/^\.kata-deploy-old\.kata\./);
    expect(existsSync(path.join(committed.oldTree!, 'bin/only-in-v1'))).toBe(true);

    await revertPayload(committed, settings, ports);
    expect(snapshot(path.join(host.root, 'opt/kata'))).toEqual(before.tree);
    expect(readdirSync(path.join(host.root, 'opt'))).toEqual(['kata']);
    expect(readdirSync(path.join(host.root, STATE))).toEqual(['payload-manifest.json']);
    expect(readFileSync(path.join(host.root, STATE, 'payload-manifest.json'), 'utf8')).toBe(before.manifest);
    expect((await stagePayload(payloadSettings(v1), ports)).unchanged).toBe(true);
  });

  it('deletes the old tree and promotes the manifest on finalize', async () => {
    host = await makeTempRoot();
    await installV1();
    const ports = payloadPorts(host.root);
    const settings = payloadSettings(v2);
    const committed = await commitStagedPayload(await stagePayload(settings, ports), settings, ports);
    await finalizePayload(committed, settings, ports);
    expect(readdirSync(path.join(host.root, 'opt'))).toEqual(['kata']);
    expect(readdirSync(path.join(host.root, STATE))).toEqual(['payload-manifest.json']);
    expect(
      (await readInstalledManifest(settings, ports))?.entries.some((entry) => entry.path === 'bin/only-in-v1'),
    ).toBe(false);
    expect((await stagePayload(settings, ports)).unchanged).toBe(true);
  });

  it('reverts a first install by removing its tree and the directories it created', async () => {
    host = await makeTempRoot({ '/etc/hostname': 'node\n' });
    const before = snapshot(host.root);
    const ports = payloadPorts(host.root);
    const settings = payloadSettings(v2);
    const committed = await commitStagedPayload(await stagePayload(settings, ports), settings, ports);
    expect(existsSync(path.join(host.root, 'opt/kata/VERSION'))).toBe(true);
    await revertPayload(committed, settings, ports);
    const after = snapshot(host.root);
    for (const state of Object.keys(after).filter((rel) => rel.startsWith('var'))) delete after[state];
    expect(after).toEqual(before);
  });

  it(
    'brings back an old tree a crash between the two fallback renames left with no install dir, instead of deleting ' +
      'it',
    async () => {
      host = await makeTempRoot();
      const before = await installV1();
      const installed = lstatSync(path.join(host.root, 'opt/kata')).ino;
      renameSync(path.join(host.root, 'opt/kata'), path.join(host.root, 'opt/.kata-deploy-old.kata.1-deadbeef'));
      const staged = await stagePayload(payloadSettings(v1), payloadPorts(host.root));
      expect(staged.unchanged).toBe(true);
      expect(lstatSync(path.join(host.root, 'opt/kata')).ino).toBe(installed);
      expect(snapshot(path.join(host.root, 'opt/kata'))).toEqual(before.tree);
      expect(readdirSync(path.join(host.root, 'opt'))).toEqual(['kata']);
    },
  );

  it(
    'recovers from every point of a switch by root inode: each tree ends where it belongs and the committed one is ' +
      'never deleted',
    async () => {
      const crashes: Record<string, (committed: Awaited<ReturnType<typeof commitStagedPayload>>) => void> = {
        'between the exchange and naming the old tree': (committed) =>
          renameSync(committed.oldTree!, path.join(host.root, 'opt/.kata-deploy-staging.kata.9-00000001')),
        'in a revert, after swapping back but before dropping the pending manifest': (committed) =>
          exchangePaths(committed.oldTree!, path.join(host.root, 'opt/kata')),
        'in a finalize, after promoting the manifest but before deleting the old tree': () =>
          renameSync(
            path.join(host.root, STATE, 'payload-manifest.next.json'),
            path.join(host.root, STATE, 'payload-manifest.json'),
          ),
      };
      for (const [when, crash] of Object.entries(crashes)) {
        host = await makeTempRoot();
        const before = await installV1();
        const ports = payloadPorts(host.root);
        const settings = payloadSettings(v2);
        const committed = await commitStagedPayload(await stagePayload(settings, ports), settings, ports);
        const newTree = snapshot(path.join(host.root, 'opt/kata'));
        crash(committed);
        await resolveInterruptedSwitch(settings, ports);
        const finalized = when.startsWith('in a finalize');
        expect(snapshot(path.join(host.root, 'opt/kata')), when).toEqual(finalized ? newTree : before.tree);
        expect(readdirSync(path.join(host.root, 'opt')), when).toEqual(['kata']);
        expect(readdirSync(path.join(host.root, STATE)), when).toEqual(['payload-manifest.json']);
        if (!finalized)
          expect(readFileSync(path.join(host.root, STATE, 'payload-manifest.json'), 'utf8'), when).toBe(
            before.manifest,
          );
        await host.cleanup();
      }
      host = await makeTempRoot();
    },
  );
});
