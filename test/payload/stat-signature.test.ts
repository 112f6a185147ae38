import { readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { damagedPayloadFiles, manifestPath, removeOwnPayload, stagePayload } from '../../src/payload/index.js';
import type { PayloadManifest } from '../../src/payload/manifest.js';
import type { PayloadPorts } from '../../src/payload/types.js';
import { makeTempRoot, type TempRoot } from '../helpers/temp-root.js';
import { compress, craftTar } from '../helpers/tar-craft.js';
import {
  commitAndFinalize,
  minimalPayload,
  payloadPorts,
  payloadSettings,
  sha256,
  snapshot,
  writeArchive,
} from './fixtures.js';

const VERSION = 'opt/kata/VERSION';

/** Payload ports that remember which progress phases started: an unpack always reports one. */
function recordingPorts(root: string): PayloadPorts & { phases: string[] } {
  const phases: string[] = [];
  return {
    ...payloadPorts(root),
    phases,
    progress: {
      start: (phase) => {
        phases.push(phase);
        return { update: () => undefined, end: () => undefined };
      },
    },
  };
}

describe('the installed tree is known by stat signatures, not by hashing every file', () => {
  let host: TempRoot;
  let archives: string;
  let payload: string;

  beforeEach(async () => {
    host = await makeTempRoot();
    archives = await mkdtemp(path.join(tmpdir(), 'kata-archives-'));
    payload = writeArchive(archives, 'p.tar.zst', compress(craftTar(minimalPayload()), 'zst'));
  });
  afterEach(async () => {
    await host.cleanup();
    await rm(archives, { recursive: true, force: true });
  });

  const install = async (ports: PayloadPorts = payloadPorts(host.root), overrides = {}) => {
    const settings = payloadSettings(payload, overrides);
    const staged = await stagePayload(settings, ports);
    await commitAndFinalize(staged, settings, ports);
    return staged;
  };
  const manifestFile = () => path.join(host.root, manifestPath({ multiInstallSuffix: undefined }));
  const readManifest = () => JSON.parse(readFileSync(manifestFile(), 'utf8')) as PayloadManifest;

  it('records a signature for every file and no per-file digest', async () => {
    await install();
    const files = readManifest().entries.filter((entry) => entry.type === 'file');
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) {
      expect(file.sig).toMatch(/^\d+:\d+$/);
      expect(file.sha256).toBeUndefined();
    }
  });

  it('converges without starting an unpack (nothing decompressed) and without writing', async () => {
    await install();
    const before = { tree: snapshot(host.root), manifest: statSync(manifestFile()).mtimeMs };
    const ports = recordingPorts(host.root);
    const staged = await install(ports);
    expect(staged.unchanged).toBe(true);
    expect(ports.phases).toEqual([]);
    expect(snapshot(host.root)).toEqual(before.tree);
    expect(statSync(manifestFile()).mtimeMs).toBe(before.manifest);
  });

  it('sees a file rewritten in place with its size and mtime restored, and reinstalls it', async () => {
    await install();
    const file = path.join(host.root, VERSION);
    const stats = statSync(file);
    writeFileSync(file, '6.6.6\n');
    utimesSync(file, stats.atime, stats.mtime);
    expect(statSync(file).size).toBe(stats.size);
    expect(await damagedPayloadFiles(payloadSettings(payload), payloadPorts(host.root))).toEqual(['/opt/kata/VERSION']);
    const ports = recordingPorts(host.root);
    expect((await install(ports)).unchanged).toBe(false);
    expect(ports.phases).toEqual(['unpack']);
    expect(readFileSync(file, 'utf8')).toBe('4.0.0\n');
  });

  it('keeps, on uninstall, a file of ours only touched since (its bytes can no longer be vouched for)', async () => {
    await install();
    const file = path.join(host.root, VERSION);
    utimesSync(file, new Date(0), new Date(0));
    const removal = await removeOwnPayload(payloadSettings(payload), payloadPorts(host.root));
    expect(removal.kept).toEqual(['/opt/kata/VERSION']);
    expect(readFileSync(file, 'utf8')).toBe('4.0.0\n');
  });

  it('skips the switch for a re-copied archive with the same --payload-sha256 (it names the bytes)', async () => {
    const digest = sha256(readFileSync(payload));
    await install(payloadPorts(host.root), { payloadSha256: digest });
    const tree = snapshot(path.join(host.root, 'opt/kata'));
    const root = statSync(path.join(host.root, 'opt/kata')).ino;
    const copy = writeArchive(archives, 'copy.tar.zst', readFileSync(payload));
    const settings = payloadSettings(copy, { payloadSha256: digest });
    const staged = await stagePayload(settings, payloadPorts(host.root));
    await commitAndFinalize(staged, settings, payloadPorts(host.root));
    expect(staged).toMatchObject({ unchanged: true, manifestOnly: true });
    expect(statSync(path.join(host.root, 'opt/kata')).ino).toBe(root);
    expect(readManifest().source.location).toBe(copy);
    expect(await damagedPayloadFiles(settings, payloadPorts(host.root))).toEqual([]);
    expect(snapshot(path.join(host.root, 'opt/kata'))).toEqual(tree);
  });

  describe('a node installed by the previous version (per-file sha256, no signatures)', () => {
    /** Rewrites the manifest as the previous version wrote it: each file's sha256, no signature. */
    const downgradeManifest = () => {
      const manifest = readManifest();
      const entries = manifest.entries.map((entry) => {
        if (entry.type !== 'file') return entry;
        const { sig: _sig, ...old } = entry;
        return { ...old, sha256: sha256(readFileSync(path.join(host.root, 'opt/kata', entry.path))) };
      });
      const old = { ...manifest, source: { ...manifest.source, sha256: undefined }, entries };
      writeFileSync(manifestFile(), JSON.stringify(old, null, 2));
    };

    it('converges on it without unpacking, and reports no damage', async () => {
      await install();
      downgradeManifest();
      const ports = recordingPorts(host.root);
      expect((await install(ports)).unchanged).toBe(true);
      expect(ports.phases).toEqual([]);
      expect(await damagedPayloadFiles(payloadSettings(payload), payloadPorts(host.root))).toEqual([]);
    });

    it('uninstall still removes a file of ours only touched since, by its recorded sha256', async () => {
      await install();
      downgradeManifest();
      utimesSync(path.join(host.root, VERSION), new Date(0), new Date(0));
      const removal = await removeOwnPayload(payloadSettings(payload), payloadPorts(host.root));
      expect(removal.kept).toEqual([]);
      expect(removal.removed).toContain('/opt/kata/VERSION');
    });

    it('an upgrade over it records signatures from then on', async () => {
      await install();
      downgradeManifest();
      payload = writeArchive(archives, 'v2.tar.zst', compress(craftTar(minimalPayload({ version: '4.1.0' })), 'zst'));
      expect((await install()).unchanged).toBe(false);
      const version = readManifest().entries.find((entry) => entry.path === 'VERSION');
      expect(version).toMatchObject({ type: 'file', sig: expect.stringMatching(/^\d+:\d+$/) });
      expect(readFileSync(path.join(host.root, VERSION), 'utf8')).toBe('4.1.0\n');
    });
  });
});
