import { mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stagePayload } from '../../src/payload/stage.js';
import { readDirNoAtime } from '../../src/payload/no-atime.js';
import { compress, craftTar } from '../helpers/tar-craft.js';
import { commitAndFinalize, minimalPayload, payloadPorts, payloadSettings, writeArchive } from './fixtures.js';

const work = mkdtempSync(path.join(tmpdir(), 'kata-converged-atime-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('a converged reinstall reads without touching access times', () => {
  it('lists the install dir’s parent (looking for leftovers) without updating its atime', async () => {
    const root = mkdtempSync(path.join(work, 'root-'));
    const settings = payloadSettings(writeArchive(work, 'p.tar.zst', compress(craftTar(minimalPayload()), 'zst')));
    const ports = payloadPorts(root);
    await commitAndFinalize(await stagePayload(settings, ports), settings, ports);
    const parent = path.join(root, 'opt');
    const longAgo = new Date('2020-01-01T00:00:00Z');
    utimesSync(parent, longAgo, statSync(parent).mtime);

    const again = await stagePayload(settings, ports);

    expect(again.unchanged).toBe(true);
    expect(statSync(parent).atimeMs).toBe(longAgo.getTime());
  });

  it('lists a directory’s names like readdir, without . and ..', () => {
    const root = mkdtempSync(path.join(work, 'dir-'));
    const names = ['a', 'b c', 'ünï', '.hidden', 'x'.repeat(200), ...Array.from({ length: 600 }, (_, i) => `f${i}`)];
    for (const name of names) writeFileSync(path.join(root, name), name);
    expect(readDirNoAtime(root).sort()).toEqual([...names].sort());
  });
});
