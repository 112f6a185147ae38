import { readFileSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/core/digest.js';
import { KataDeployError } from '../../src/core/errors.js';
import { NodeHostFs } from '../../src/host/node-host-fs.js';
import { LedgerStore } from '../../src/transaction/ledger.js';
import { makeTempRoot, type TempRoot } from '../helpers/temp-root.js';
import { onTempRoot } from '../helpers/temp-root-cli.js';
import { snapshotTree } from '../helpers/tree-snapshot.js';

const STATE = 'var/lib/kata-deploy/default';
const CONFIG = 'version = 2\n';
const VICTIM = 'root:x:0:0:root:/root:/bin/bash\n';

let temp: TempRoot | undefined;
afterEach(async () => {
  await temp?.cleanup();
  temp = undefined;
});

async function installedNode(): Promise<string> {
  temp = await makeTempRoot({
    '/etc/containerd/config.toml': CONFIG,
    '/etc/passwd': VICTIM,
    '/run/lock': { dir: true },
  });
  const run = await onTempRoot(temp.root, 'install');
  expect(run.code, run.stderr).toBe(0);
  return temp.root;
}

function editJson(file: string, edit: (value: Record<string, unknown>) => void): void {
  const value = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  edit(value);
  writeFileSync(file, JSON.stringify(value));
}

describe('kata-deploy acts only on paths its own state may name', () => {
  const plants: [string, (root: string) => void][] = [
    [
      'a ledger file entry for /etc/passwd',
      (root) =>
        editJson(path.join(root, STATE, 'ledger.json'), (ledger) => {
          (ledger.files as unknown[]).push({
            path: '/etc/passwd',
            original: { kind: 'absent' },
            written: sha256(Buffer.from(VICTIM)),
            runtimeReads: false,
          });
        }),
    ],
    [
      'a planted journal entry for /etc/passwd',
      (root) =>
        editJson(path.join(root, STATE, 'ledger.json'), (ledger) => {
          ledger.journal = [{ path: '/etc/passwd', before: { kind: 'absent' }, tracked: false }];
        }),
    ],
    [
      'a manifest entry ../../etc/passwd',
      (root) =>
        editJson(path.join(root, STATE, 'payload-manifest.json'), (manifest) => {
          (manifest.entries as unknown[]).push({
            path: '../../etc/passwd',
            type: 'file',
            size: VICTIM.length,
            sha256: sha256(Buffer.from(VICTIM)),
            mode: 0o644,
            mtime: 0,
          });
        }),
    ],
  ];
  for (const [what, plant] of plants) {
    it(`refuses ${what} with exit 5 and changes nothing, on uninstall and on install`, async () => {
      const root = await installedNode();
      plant(root);
      const before = await snapshotTree(root);
      for (const command of ['uninstall', 'install']) {
        const run = await onTempRoot(root, command);
        expect(run.code, run.stderr).toBe(5);
        expect(run.stderr).toMatch(/passwd/);
        expect(run.stderr).toMatch(/refusing to act on it/);
      }
      expect(await snapshotTree(root)).toEqual(before);
      expect(readFileSync(path.join(root, 'etc/passwd'), 'utf8')).toBe(VICTIM);
    });
  }
});

describe('backups are read only when they are our own regular files', () => {
  const store = async () => {
    temp = await makeTempRoot({ '/etc/shadow': 'root:$6$secret:1::::::\n' });
    return new LedgerStore(new NodeHostFs(temp.root), '/var/lib/kata-deploy/default');
  };

  it('refuses a backup that is a symlink (to /etc/shadow) instead of copying what it points to', async () => {
    const ledger = await store();
    const shadow = readFileSync(path.join(temp!.root, 'etc/shadow'));
    const digest = await ledger.saveBackup(shadow);
    const backup = path.join(temp!.root, 'var/lib/kata-deploy/default/backups', digest);
    unlinkSync(backup);
    symlinkSync('/etc/shadow', backup);
    symlinkSync(path.join(temp!.root, 'etc/shadow'), `${backup}.abs`);
    const error = await ledger.loadBackup(digest).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(KataDeployError);
    expect((error as KataDeployError).exitCode).toBe(5);
    expect((error as Error).message).toContain(`backups/${digest} is a symlink`);
  });

  it('refuses a backup digest that walks out of backups/', async () => {
    const ledger = await store();
    const error = await ledger.loadBackup('../../../../etc/shadow').catch((caught: unknown) => caught);
    expect((error as KataDeployError).exitCode).toBe(5);
  });
});
