import { chmod, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
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

const STATE = '/var/lib/kata-deploy/default';
const original = Buffer.from('# operator comment\r\nversion = 2\r\n\r\n');

async function setup() {
  temp = await makeTempRoot({ '/etc/containerd/config.toml': original });
  await chmod(path.join(temp.root, 'etc/containerd/config.toml'), 0o640);
  const fs = new NodeHostFs(temp.root);
  const store = new LedgerStore(fs, STATE);
  return { fs, store, tx: new FileTransaction(fs, store, emptyLedger(new Date(0)), systemClock) };
}

describe('FileTransaction', () => {
  it('backs up the original before writing and records what it wrote', async () => {
    const { fs, store, tx } = await setup();
    const written = await tx.apply(
      [
        {
          path: '/etc/containerd/config.toml',
          before: original,
          after: Buffer.from('version = 2\n# ours\n'),
          reason: 'add handlers',
        },
        {
          path: '/etc/containerd/conf.d/kata.toml',
          before: undefined,
          after: Buffer.from('x = 1\n'),
          reason: 'drop-in',
        },
      ],
      true,
    );
    expect(written).toEqual(['/etc/containerd/config.toml', '/etc/containerd/conf.d/kata.toml']);
    const ledger = (await store.read())!;
    expect(ledger.files.map((file) => [file.path, file.original.kind, file.written !== undefined])).toEqual([
      ['/etc/containerd/config.toml', 'present', true],
      ['/etc/containerd/conf.d/kata.toml', 'absent', true],
    ]);
    expect(ledger.createdDirs).toEqual(['/etc/containerd/conf.d']);
    const first = ledger.files[0]!;
    expect(first.original.kind === 'present' && (await store.loadBackup(first.original.sha256)).equals(original)).toBe(
      true,
    );
    expect(await fs.readText('/etc/containerd/config.toml')).toBe('version = 2\n# ours\n');
  });

  it('skips changes that change nothing', async () => {
    const { store, tx } = await setup();
    expect(
      await tx.apply(
        [{ path: '/etc/containerd/config.toml', before: original, after: original, reason: 'same' }],
        true,
      ),
    ).toEqual([]);
    expect(await store.read()).toBeUndefined();
  });

  it('restores every file byte for byte with its mode, and removes what it created', async () => {
    const { fs, tx } = await setup();
    await tx.apply(
      [
        { path: '/etc/containerd/config.toml', before: original, after: Buffer.from('changed\n'), reason: 'x' },
        { path: '/etc/containerd/conf.d/kata.toml', before: undefined, after: Buffer.from('x = 1\n'), reason: 'y' },
      ],
      true,
    );
    await tx.apply(
      [
        {
          path: '/etc/containerd/config.toml',
          before: Buffer.from('changed\n'),
          after: Buffer.from('changed twice\n'),
          reason: 'z',
        },
      ],
      true,
    );
    const result = await tx.restoreOriginals();
    expect(result).toEqual({
      restored: ['/etc/containerd/conf.d/kata.toml', '/etc/containerd/config.toml'],
      runtimeReadsChanged: true,
      left: [],
    });
    expect((await fs.readFile('/etc/containerd/config.toml')).equals(original)).toBe(true);
    expect((await stat(await fs.realPath('/etc/containerd/config.toml'))).mode & 0o777).toBe(0o640);
    expect(await readdir(path.join(temp!.root, 'etc/containerd'))).toEqual(['config.toml']);
    expect(tx.ledger.files).toEqual([]);
  });

  it.each([
    ['before the first write', ['/etc/containerd/config.toml/impossible', '/etc/containerd/config.toml']],
    ['between two writes', ['/etc/containerd/config.toml', '/etc/containerd/config.toml/impossible']],
  ])('recovers from the ledger alone when a run dies %s', async (_when, paths) => {
    const { fs, store, tx } = await setup();
    const changes = paths.map((hostPath) => ({
      path: hostPath,
      before: hostPath.endsWith('impossible') ? undefined : original,
      after: Buffer.from('half\n'),
      reason: 'x',
    }));
    await expect(tx.apply(changes, true)).rejects.toThrow();
    const died = (await store.read())!;
    expect(died.journal.map((entry) => entry.path).sort()).toEqual([...paths].sort());
    const recovered = new FileTransaction(fs, store, died, systemClock);
    await recovered.rollback();
    expect((await fs.readFile('/etc/containerd/config.toml')).equals(original)).toBe(true);
    expect((await store.read())!.journal).toEqual([]);
    expect((await store.read())!.files).toEqual([]);
  });

  it('refuses to restore from a damaged backup instead of writing garbage', async () => {
    const { fs, store, tx } = await setup();
    await tx.apply(
      [{ path: '/etc/containerd/config.toml', before: original, after: Buffer.from('new\n'), reason: 'x' }],
      true,
    );
    const entry = (await store.read())!.files[0]!;
    if (entry.original.kind !== 'present') throw new Error('expected a backup');
    await fs.writeFileAtomic(store.backupPath(entry.original.sha256), 'tampered');
    await expect(tx.restoreOriginals()).rejects.toThrow(/missing or damaged/);
    expect(await fs.readText('/etc/containerd/config.toml')).toBe('new\n');
  });

  it('rolls a failed run back to where that run started, not to the original', async () => {
    const { fs, store, tx } = await setup();
    const v1 = Buffer.from('version = 2\n# kata v1\n');
    await tx.apply([{ path: '/etc/containerd/config.toml', before: original, after: v1, reason: 'install' }], true);
    await tx.apply(
      [{ path: '/opt/kata/handlers/a.toml', before: undefined, after: Buffer.from('a'), reason: 'install' }],
      false,
    );
    await tx.commit({ phase: 'installed' });
    await tx.apply(
      [
        {
          path: '/etc/containerd/config.toml',
          before: v1,
          after: Buffer.from('version = 2\n# kata v2\n'),
          reason: 'upgrade',
        },
        { path: '/opt/kata/handlers/b.toml', before: undefined, after: Buffer.from('b'), reason: 'upgrade' },
      ],
      true,
    );
    const result = await tx.rollback();
    expect(result.runtimeReadsChanged).toBe(true);
    expect((await fs.readFile('/etc/containerd/config.toml')).equals(v1)).toBe(true);
    expect(await fs.exists('/opt/kata/handlers/b.toml')).toBe(false);
    expect(await fs.readText('/opt/kata/handlers/a.toml')).toBe('a');
    const ledger = (await store.read())!;
    expect(ledger.journal).toEqual([]);
    expect(ledger.files.map((file) => file.path)).toEqual(['/etc/containerd/config.toml', '/opt/kata/handlers/a.toml']);
    await tx.restoreOriginals();
    expect((await fs.readFile('/etc/containerd/config.toml')).equals(original)).toBe(true);
    expect(await fs.exists('/opt')).toBe(false);
  });

  it("writes one apply's files together: one fails, it throws once all settled, rollback restores all", async () => {
    const { fs, store, tx } = await setup();
    // A file where the third change needs a directory: its mkdirp fails, the other two are written.
    await fs.writeFileAtomic('/etc/kata-blocker', 'a file, not a dir\n');
    const blockerBefore = await fs.readFile('/etc/kata-blocker');
    const changes = [
      { path: '/etc/containerd/config.toml', before: original, after: Buffer.from('v2\n'), reason: 'x' },
      { path: '/etc/containerd/conf.d/kata.toml', before: undefined, after: Buffer.from('x = 1\n'), reason: 'x' },
      { path: '/etc/kata-blocker/inside.toml', before: undefined, after: Buffer.from('y\n'), reason: 'x' },
    ];
    await expect(tx.apply(changes, true)).rejects.toThrow();
    expect(await fs.readText('/etc/containerd/conf.d/kata.toml')).toBe('x = 1\n');
    expect((await store.read())!.journal.map((entry) => entry.path)).toEqual(changes.map((change) => change.path));
    const result = await tx.rollback();
    expect(result.runtimeReadsChanged).toBe(true);
    expect((await fs.readFile('/etc/containerd/config.toml')).equals(original)).toBe(true);
    expect(await fs.exists('/etc/containerd/conf.d')).toBe(false);
    expect((await fs.readFile('/etc/kata-blocker')).equals(blockerBefore)).toBe(true);
    expect((await store.read())!.files).toEqual([]);
  });
});
