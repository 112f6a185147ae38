import {
  chmodSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  renameSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KataDeployError } from '../../src/core/errors.js';
import { removeOwnPayload, stagePayload } from '../../src/payload/index.js';
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

const K = './opt/kata';

describe('a tree kata-deploy did not create is never exchanged, rebuilt or emptied', () => {
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

  const refusal = async (settings = payloadSettings(payload), validateOnly = false) => {
    const error = await stagePayload(settings, payloadPorts(host.root), { validateOnly }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KataDeployError);
    return error as KataDeployError;
  };

  it('refuses an install dir that is a symlink (to /etc) with exit 2, and /etc keeps its inode and bits', async () => {
    mkdirSync(path.join(host.root, 'etc/ssl/private'), { recursive: true });
    chmodSync(path.join(host.root, 'etc/ssl/private'), 0o2710);
    writeFileSync(path.join(host.root, 'etc/shadow'), 'root:*:1::::::\n', { mode: 0o640 });
    mkdirSync(path.join(host.root, 'opt'));
    symlinkSync('/etc', path.join(host.root, 'opt/kata'));
    const before = { tree: snapshot(host.root), etc: statSync(path.join(host.root, 'etc')).ino };
    for (const validateOnly of [false, true]) {
      const error = await refusal(payloadSettings(payload), validateOnly);
      expect(error.exitCode).toBe(2);
      expect(error.message).toContain('install dir /opt/kata is a symlink (to /etc)');
      expect(error.hint).toMatch(/INSTALLATION_PREFIX/);
    }
    expect(snapshot(host.root)).toEqual(before.tree);
    expect(statSync(path.join(host.root, 'etc')).ino).toBe(before.etc);
  });

  it('refuses an existing /opt/kata it did not create (an upstream install), keeping every file', async () => {
    mkdirSync(path.join(host.root, 'opt/kata/bin'), { recursive: true });
    writeFileSync(path.join(host.root, 'opt/kata/bin/containerd-shim-kata-v2'), 'upstream shim', { mode: 0o755 });
    writeFileSync(path.join(host.root, 'opt/kata/VERSION'), '3.2.0\n');
    const before = snapshot(host.root);
    const error = await refusal();
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain('install dir /opt/kata already exists and is a directory kata-deploy did not');
    expect(error.hint).toContain('move /opt/kata aside');
    expect(snapshot(host.root)).toEqual(before);
  });

  it('refuses an upgrade over a file an operator put at a path the new payload ships, naming it', async () => {
    const settings = payloadSettings(payload);
    const ports = payloadPorts(host.root);
    await commitAndFinalize(await stagePayload(settings, ports), settings, ports);
    writeFileSync(path.join(host.root, 'opt/kata/bin/kata-ctl'), 'operator build', { mode: 0o755 });
    const before = snapshot(host.root);
    const v2 = writeArchive(
      archives,
      'v2.tar.zst',
      compress(
        craftTar(
          minimalPayload({ version: '4.1.0', extra: [{ name: `${K}/bin/kata-ctl`, body: 'new', mode: 0o755 }] }),
        ),
        'zst',
      ),
    );
    const error = await refusal(payloadSettings(v2));
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain('the payload ships /opt/kata/bin/kata-ctl, which kata-deploy did not install');
    expect(snapshot(host.root)).toEqual(before);
    expect(readFileSync(path.join(host.root, 'opt/kata/bin/kata-ctl'), 'utf8')).toBe('operator build');
  });

  it('uninstall leaves alone a tree the operator put in place of ours, and says so', async () => {
    const settings = payloadSettings(payload);
    const ports = payloadPorts(host.root);
    await commitAndFinalize(await stagePayload(settings, ports), settings, ports);
    renameSync(path.join(host.root, 'opt/kata'), path.join(host.root, 'opt/kata.ours'));
    mkdirSync(path.join(host.root, 'opt/kata/bin'), { recursive: true });
    writeFileSync(path.join(host.root, 'opt/kata/bin/containerd-shim-kata-v2'), 'their shim', { mode: 0o755 });
    writeFileSync(path.join(host.root, 'opt/kata/VERSION'), '4.0.0\n');
    const theirs = snapshot(path.join(host.root, 'opt/kata'));
    const removal = await removeOwnPayload(settings, ports);
    expect(removal).toEqual({ removed: [], kept: ['/opt/kata'] });
    expect(snapshot(path.join(host.root, 'opt/kata'))).toEqual(theirs);
  });

  it('uninstall removes its own files but keeps one the operator replaced, naming it', async () => {
    const settings = payloadSettings(payload);
    const ports = payloadPorts(host.root);
    await commitAndFinalize(await stagePayload(settings, ports), settings, ports);
    const shim = path.join(host.root, 'opt/kata/bin/containerd-shim-kata-v2');
    const size = lstatSync(shim).size;
    renameSync(shim, `${shim}.orig`);
    writeFileSync(shim, Buffer.alloc(size, 7), { mode: 0o755 });
    const removal = await removeOwnPayload(settings, ports);
    expect(removal.kept).toEqual(['/opt/kata/bin/containerd-shim-kata-v2']);
    expect(removal.removed).toContain('/opt/kata/VERSION');
    expect(readFileSync(shim)).toEqual(Buffer.alloc(size, 7));
  });
});
