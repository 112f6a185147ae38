import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/host/clock.js';
import { silentLogger } from '../../src/host/logger.js';
import { NodeHostFs } from '../../src/host/node-host-fs.js';
import { parseSettings } from '../../src/settings/parse-settings.js';
import { payloadPart } from '../../src/wiring/payload-parts.js';
import { compress, craftTar } from '../helpers/tar-craft.js';
import { makeTempRoot, type TempRoot } from '../helpers/temp-root.js';
import { snapshotTree } from '../helpers/tree-snapshot.js';
import { minimalPayload, writeArchive } from './fixtures.js';

/** The tree's bytes plus every directory's mtime: a file created and deleted again still shows. */
async function hostState(root: string): Promise<{ tree: Record<string, string>; dirs: Record<string, number> }> {
  const tree = await snapshotTree(root);
  const dirs: Record<string, number> = { '.': statSync(root).mtimeMs };
  for (const [rel, kind] of Object.entries(tree))
    if (kind.startsWith('dir')) dirs[rel] = statSync(path.join(root, rel)).mtimeMs;
  return { tree, dirs };
}

function part(root: string, payload: string, dryRun: boolean) {
  const settings = parseSettings({
    env: {},
    arch: 'x86_64',
    flags: { hostRoot: root, payload, shims: 'qemu qemu-runtime-rs', dryRun },
  });
  return payloadPart(settings, { fs: new NodeHostFs(root), log: silentLogger(), clock: systemClock });
}

let work: string;
let v1: string;
let v2: string;
beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'kata-dry-run-'));
  v1 = writeArchive(work, 'v1.tar.zst', compress(craftTar(minimalPayload()), 'zst'));
  v2 = writeArchive(work, 'v2.tar.zst', compress(craftTar(minimalPayload({ version: '4.1.0' })), 'zst'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

let host: TempRoot;
afterEach(async () => host?.cleanup());

describe('staging for --dry-run checks the whole payload and writes nothing', () => {
  it(
    'leaves a fresh host byte-identical, not even creating and removing /opt, and still reads the pristine ' +
      'configs',
    async () => {
      host = await makeTempRoot({ '/etc/hostname': 'node\n' });
      const before = await hostState(host.root);
      const payload = part(host.root, v2, true);
      const staged = await payload.stage();
      expect(staged.unchanged).toBe(false);
      expect((await staged.readPristine('qemu'))?.toString('utf8')).toContain('[hypervisor.qemu]');
      await payload.discard(staged);
      expect(await hostState(host.root)).toEqual(before);
    },
  );

  it("leaves an installed host and a crashed run's leftover alone while planning an upgrade", async () => {
    host = await makeTempRoot();
    const real = part(host.root, v1, false);
    const installed = await real.stage();
    await real.commit(installed);
    await real.finalize(installed);
    mkdirSync(path.join(host.root, 'opt/.kata-deploy-staging.kata.1-0badf00d'));
    writeFileSync(path.join(host.root, 'opt/.kata-deploy-staging.kata.1-0badf00d/half'), 'x');
    const before = await hostState(host.root);

    const payload = part(host.root, v2, true);
    const staged = await payload.stage();
    expect(staged.unchanged).toBe(false);
    expect(staged.digest).not.toBe(await real.installedDigest());
    await payload.discard(staged);
    expect(await hostState(host.root)).toEqual(before);
    expect(readdirSync(path.join(host.root, 'opt')).sort()).toEqual(['.kata-deploy-staging.kata.1-0badf00d', 'kata']);
  });

  it('still refuses an unsafe member, writing nothing', async () => {
    host = await makeTempRoot();
    const before = await hostState(host.root);
    const evil = writeArchive(
      work,
      'evil.tar.zst',
      compress(craftTar([...minimalPayload(), { name: './opt/kata/../../etc/cron.d/evil', body: 'x' }]), 'zst'),
    );
    await expect(part(host.root, evil, true).stage()).rejects.toMatchObject({
      code: 'bad-payload',
      message: expect.stringContaining('etc/cron.d/evil'),
    });
    expect(await hostState(host.root)).toEqual(before);
  });
});
