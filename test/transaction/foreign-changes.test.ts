import path from 'node:path';
import { writeFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/core/digest.js';
import { systemClock } from '../../src/host/clock.js';
import { NodeHostFs } from '../../src/host/node-host-fs.js';
import { FileTransaction } from '../../src/transaction/file-transaction.js';
import { emptyLedger, LedgerStore } from '../../src/transaction/ledger.js';
import { makeTempRoot, type TempRoot } from '../helpers/temp-root.js';

let temp: TempRoot | undefined;
afterEach(async () => {
  await temp?.cleanup();
  temp = undefined;
});

const CONFIG = '/opt/kata/share/defaults/kata-containers/handlers/kata-qemu/configuration-qemu.toml';

async function installed() {
  temp = await makeTempRoot({ '/opt/kata/VERSION': '4.0.0\n' });
  const fs = new NodeHostFs(temp.root);
  const store = new LedgerStore(fs, '/var/lib/kata-deploy/default');
  const tx = new FileTransaction(fs, store, emptyLedger(new Date(0)), systemClock);
  await tx.apply([{ path: CONFIG, before: undefined, after: Buffer.from('ours = 1\n'), reason: 'install' }], false);
  await tx.commit({ phase: 'installed' });
  return { fs, store, tx };
}

describe('undoing only what is still ours', () => {
  it('uninstall leaves a file someone replaced since we wrote it, and names it', async () => {
    const { fs, tx } = await installed();
    await writeFile(path.join(temp!.root, CONFIG), 'theirs = 1\n');
    const result = await tx.restoreOriginals();
    expect(result).toEqual({ restored: [], runtimeReadsChanged: false, left: [CONFIG] });
    expect(await fs.readText(CONFIG)).toBe('theirs = 1\n');
    expect(tx.ledger.files).toEqual([]);
  });

  it('a rolled-back run leaves the ledger recording the bytes now on disk, so status sees no drift', async () => {
    const { fs, tx } = await installed();
    await tx.apply(
      [{ path: CONFIG, before: Buffer.from('ours = 1\n'), after: Buffer.from('v2\n'), reason: 'up' }],
      false,
    );
    await tx.rollback();
    expect(await fs.readText(CONFIG)).toBe('ours = 1\n');
    expect(tx.ledger.files.find((file) => file.path === CONFIG)?.written).toBe(sha256(Buffer.from('ours = 1\n')));
  });
});
