import { readlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KataDeployError } from '../../src/core/errors.js';
import type { ShimLink } from '../../src/core/shim-lookup.js';
import { systemClock } from '../../src/host/clock.js';
import { NodeHostFs } from '../../src/host/node-host-fs.js';
import { FileTransaction } from '../../src/transaction/file-transaction.js';
import { emptyLedger, LedgerStore, runInProgress } from '../../src/transaction/ledger.js';
import { assertLinksPlaceable, createLinks, removeLinks } from '../../src/transaction/shim-links.js';
import { makeTempRoot, type TempRoot } from '../helpers/temp-root.js';

let temp: TempRoot | undefined;
afterEach(async () => {
  await temp?.cleanup();
  temp = undefined;
});

const SHIM = '/opt/kata/bin/containerd-shim-kata-v2';
const qemu: ShimLink = { handler: 'kata-qemu', path: '/usr/local/sbin/containerd-shim-kata-qemu-v2', target: SHIM };
const clh: ShimLink = { handler: 'kata-clh', path: '/usr/local/sbin/containerd-shim-kata-clh-v2', target: SHIM };

async function setup(tree: Parameters<typeof makeTempRoot>[0] = {}) {
  temp = await makeTempRoot({ [SHIM]: '#!/bin/sh\n', '/usr/local/sbin': { dir: true }, ...tree });
  const fs = new NodeHostFs(temp.root);
  const store = new LedgerStore(fs, '/var/lib/kata-deploy/default');
  const tx = new FileTransaction(fs, store, emptyLedger(new Date(0)), systemClock);
  const real = (hostPath: string) => path.join(temp!.root, hostPath);
  return { fs, store, tx, real };
}

describe('shim links in the ledger', () => {
  it('records a link before creating it; a rollback (or crash recovery) removes the uncommitted ones', async () => {
    const { fs, store, tx, real } = await setup();
    await createLinks(fs, [qemu], [], (shimLinks) => tx.update({ shimLinks }));
    await tx.commit();
    await createLinks(fs, [clh], tx.ledger.shimLinks ?? [], (shimLinks) => tx.update({ shimLinks }));
    const died = await store.read();
    expect(runInProgress(died!), 'an uncommitted link marks a run in progress').toBe(true);
    expect(await readlink(real(clh.path))).toBe(SHIM);

    const recovering = new FileTransaction(fs, store, died!, systemClock);
    await recovering.rollback();
    expect(await fs.lstat(clh.path)).toBeUndefined();
    expect(await readlink(real(qemu.path))).toBe(SHIM);
    expect((await store.read())?.shimLinks?.map((link) => [link.path, link.committed])).toEqual([[qemu.path, true]]);
  });

  it('removes only links that are still ours: a file someone put in its place stays', async () => {
    const { fs, tx, real } = await setup();
    const recorded = await createLinks(fs, [qemu, clh], [], (shimLinks) => tx.update({ shimLinks }));
    await fs.remove(clh.path);
    await writeFile(real(clh.path), 'operator shim\n');
    const left = await removeLinks(fs, recorded, () => true);
    expect(left).toEqual([]);
    expect(await fs.lstat(qemu.path)).toBeUndefined();
    expect((await fs.readText(clh.path)).trim()).toBe('operator shim');
  });

  it('refuses a path holding a file that is not ours, naming it and the handler', async () => {
    const { fs } = await setup({ [qemu.path]: 'operator shim\n' });
    const refusal = await assertLinksPlaceable(fs, [qemu], [], 'containerd 1.6.20').catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(KataDeployError);
    expect((refusal as KataDeployError).code).toBe('config-refused');
    expect((refusal as Error).message).toContain(`${qemu.path} is a regular file, not kata-deploy's link`);
    expect((refusal as Error).message).toContain('handler kata-qemu');
  });

  it('leaves an unrecorded link to our shim alone, and re-points our recorded link to an old install dir', async () => {
    const old = { ...clh, target: '/opt/old/bin/containerd-shim-kata-v2' };
    const { fs, real } = await setup({ [qemu.path]: { symlink: SHIM }, [clh.path]: { symlink: old.target } });
    const toWrite = await assertLinksPlaceable(fs, [qemu, clh], [{ ...old, committed: true }], 'containerd 1.6.20');
    expect(toWrite).toEqual([clh]);
    await createLinks(fs, toWrite, [{ ...old, committed: true }], async () => undefined);
    expect(await readlink(real(clh.path))).toBe(SHIM);
    await expect(assertLinksPlaceable(fs, [clh], [], 'containerd 1.6.20')).resolves.toEqual([]);
  });
});
