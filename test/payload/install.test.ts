import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  discardStagedPayload,
  manifestPath,
  readInstalledManifest,
  removeInstalledPayload,
  stagePayload,
} from '../../src/payload/index.js';
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

const K = './opt/kata';

describe('installing a payload', () => {
  let host: TempRoot;
  let archives: string;

  beforeEach(async () => {
    host = await makeTempRoot();
    archives = await mkdtemp(path.join(tmpdir(), 'kata-archives-'));
  });
  afterEach(async () => {
    await host.cleanup();
    await rm(archives, { recursive: true, force: true });
  });

  const install = async (file: string, overrides = {}) => {
    const settings = payloadSettings(file, overrides);
    const staged = await stagePayload(settings, payloadPorts(host.root));
    return { staged, result: await commitAndFinalize(staged, settings, payloadPorts(host.root)) };
  };

  for (const compression of ['tar', 'gz', 'xz', 'zst'] as const) {
    it(`unpacks a ${compression} sample payload to exactly what GNU tar extracts`, async () => {
      const file = path.join(archives, `sample.${compression}`);
      makeSamplePayload({ out: file, size: 2 << 20, files: 80, compression });
      const { result } = await install(file, {
        shims: ['qemu', 'qemu-runtime-rs', 'clh', 'fc', 'dragonball', 'qemu-snp', 'qemu-nvidia-gpu'],
      });
      expect(result.changed).toBe(true);
      const reference = path.join(archives, 'reference');
      mkdirSync(reference);
      execFileSync('tar', ['-x', '-f', file, '-C', reference]);
      expect(snapshot(path.join(host.root, 'opt/kata'))).toEqual(snapshot(path.join(reference, 'opt/kata')));
    });
  }

  it('reinstalls the same payload as a no-op that writes nothing', async () => {
    const file = writeArchive(archives, 'p.tar.zst', compress(craftTar(minimalPayload()), 'zst'));
    await install(file);
    const manifestFile = path.join(host.root, manifestPath({ multiInstallSuffix: undefined }));
    const before = {
      tree: snapshot(host.root),
      manifest: statSync(manifestFile).mtimeMs,
      dir: statSync(path.join(host.root, 'opt/kata')).ino,
    };
    const { staged, result } = await install(file);
    expect(staged.unchanged).toBe(true);
    expect(staged.stagingDir).toBeUndefined();
    expect(result).toMatchObject({ changed: false, removed: [] });
    expect(snapshot(host.root)).toEqual(before.tree);
    expect(statSync(manifestFile).mtimeMs).toBe(before.manifest);
    expect(statSync(path.join(host.root, 'opt/kata')).ino).toBe(before.dir);
  });

  it('reinstalls when an installed file was changed behind our back', async () => {
    const file = writeArchive(archives, 'p.tar.zst', compress(craftTar(minimalPayload()), 'zst'));
    await install(file);
    writeFileSync(path.join(host.root, 'opt/kata/VERSION'), 'tampered, longer than before\n');
    const { staged } = await install(file);
    expect(staged.unchanged).toBe(false);
    expect(readFileSync(path.join(host.root, 'opt/kata/VERSION'), 'utf8')).toBe('4.0.0\n');
  });

  it(
    'removes on upgrade the files the new payload no longer has, and keeps files kata-deploy did not ' + 'install',
    async () => {
      const v1 = writeArchive(
        archives,
        'v1.tar.zst',
        compress(
          craftTar(minimalPayload({ extra: [{ name: `${K}/bin/kata-monitor`, body: 'old monitor', mode: 0o755 }] })),
          'zst',
        ),
      );
      await install(v1);
      writeFileSync(path.join(host.root, 'opt/kata/bin/operator-tool'), 'mine');
      mkdirSync(path.join(host.root, 'opt/kata/share/defaults/kata-containers/handlers/kata-qemu/config.d'), {
        recursive: true,
      });
      writeFileSync(
        path.join(host.root, 'opt/kata/share/defaults/kata-containers/handlers/kata-qemu/config.d/10-debug.toml'),
        '[runtime]\n',
      );
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
      const { result } = await install(v2);
      expect(result).toMatchObject({ changed: true, removed: ['/opt/kata/bin/kata-monitor'] });
      const tree = snapshot(path.join(host.root, 'opt/kata'));
      expect(tree['bin/kata-monitor']).toBeUndefined();
      expect(tree['bin/kata-ctl']).toMatch(/^file 755/);
      expect(readFileSync(path.join(host.root, 'opt/kata/VERSION'), 'utf8')).toBe('4.1.0\n');
      expect(readFileSync(path.join(host.root, 'opt/kata/bin/operator-tool'), 'utf8')).toBe('mine');
      expect(tree['share/defaults/kata-containers/handlers/kata-qemu/config.d/10-debug.toml']).toMatch(/^file/);
      expect(existsSync(path.join(host.root, 'opt'))).toBe(true);
      expect(snapshot(path.join(host.root, 'opt')).toString()).not.toContain('staging');
    },
  );

  it('replaces a running shim binary without ETXTBSY: the process keeps its old inode', async () => {
    const sleep = readFileSync('/bin/sleep');
    const v1 = writeArchive(archives, 'v1.tar.zst', compress(craftTar(minimalPayload({ shimBody: sleep })), 'zst'));
    await install(v1);
    const running = spawn(path.join(host.root, 'opt/kata/bin/containerd-shim-kata-v2'), ['30'], { stdio: 'ignore' });
    try {
      await new Promise((resolve) => running.once('spawn', resolve));
      const v2 = writeArchive(
        archives,
        'v2.tar.zst',
        compress(
          craftTar(minimalPayload({ version: '4.1.0', shimBody: Buffer.concat([sleep, Buffer.from('v2')]) })),
          'zst',
        ),
      );
      const { result } = await install(v2);
      expect(result.changed).toBe(true);
      expect(readFileSync(path.join(host.root, 'opt/kata/bin/containerd-shim-kata-v2')).subarray(-2).toString()).toBe(
        'v2',
      );
      expect(running.exitCode).toBeNull();
    } finally {
      running.kill('SIGKILL');
    }
  });

  it(
    'uninstalls exactly its own files, keeps foreign ones, and removes the directories it created once ' + 'empty',
    async () => {
      const existing = await makeTempRoot({ '/opt/other/keep': 'x' });
      try {
        const file = writeArchive(archives, 'p.tar.zst', compress(craftTar(minimalPayload()), 'zst'));
        const settings = payloadSettings(file, { installDir: '/srv/prefix/opt/kata-blue', multiInstallSuffix: 'blue' });
        const ports = payloadPorts(existing.root);
        await commitAndFinalize(await stagePayload(settings, ports), settings, ports);
        expect((await readInstalledManifest(settings, ports))?.createdDirs).toEqual([
          '/srv',
          '/srv/prefix',
          '/srv/prefix/opt',
          '/srv/prefix/opt/kata-blue',
        ]);
        writeFileSync(path.join(existing.root, 'srv/prefix/opt/kata-blue/bin/operator-tool'), 'mine');
        const removed = await removeInstalledPayload(settings, ports);
        expect(removed).toContain('/srv/prefix/opt/kata-blue/bin/containerd-shim-kata-v2');
        expect(snapshot(existing.root)).toEqual({
          opt: 'dir 755',
          'opt/other': 'dir 755',
          'opt/other/keep': expect.stringMatching(/^file/),
          srv: 'dir 755',
          'srv/prefix': 'dir 755',
          'srv/prefix/opt': 'dir 755',
          'srv/prefix/opt/kata-blue': 'dir 755',
          'srv/prefix/opt/kata-blue/bin': 'dir 755',
          'srv/prefix/opt/kata-blue/bin/operator-tool': expect.stringMatching(/^file/),
          var: 'dir 755',
          'var/lib': 'dir 755',
          'var/lib/kata-deploy': 'dir 755',
          'var/lib/kata-deploy/blue': 'dir 755',
        });
        expect(await removeInstalledPayload(settings, ports)).toEqual([]);
      } finally {
        await existing.cleanup();
      }
    },
  );

  it('discards a staged payload without a trace, including the parent directories staging needed', async () => {
    const file = writeArchive(archives, 'p.tar.zst', compress(craftTar(minimalPayload()), 'zst'));
    const settings = payloadSettings(file, { installDir: '/usr/local/opt/kata' });
    const staged = await stagePayload(settings, payloadPorts(host.root));
    expect(existsSync(staged.stagingDir!)).toBe(true);
    await discardStagedPayload(staged, payloadPorts(host.root));
    expect(snapshot(host.root)).toEqual({});
  });

  it('checks an already installed payload against newly selected shims before calling it unchanged', async () => {
    const file = writeArchive(archives, 'p.tar.zst', compress(craftTar(minimalPayload()), 'zst'));
    await install(file);
    const error = await stagePayload(payloadSettings(file, { shims: ['qemu', 'clh'] }), payloadPorts(host.root)).catch(
      (caught: unknown) => caught,
    );
    expect((error as Error).message).toContain(
      'payload lacks opt/kata/share/defaults/kata-containers/configuration-clh.toml (its pristine Kata ' +
        'configuration), which shim "clh" needs',
    );
  });

  it('leaves nothing behind when the install dir and its parents are removed after a plain uninstall', async () => {
    const file = writeArchive(archives, 'p.tar.zst', compress(craftTar(minimalPayload()), 'zst'));
    await install(file);
    await removeInstalledPayload(payloadSettings(file), payloadPorts(host.root));
    expect(snapshot(host.root)).toEqual({
      var: 'dir 755',
      'var/lib': 'dir 755',
      'var/lib/kata-deploy': 'dir 755',
      'var/lib/kata-deploy/default': 'dir 755',
    });
  });

  it('installs no member that users other than root could write (containerd runs the shim as root)', async () => {
    const entries = minimalPayload().map((entry) =>
      entry.name === `${K}/bin/` || entry.name === `${K}/bin/containerd-shim-kata-v2`
        ? { ...entry, mode: 0o777 }
        : entry.name === `${K}/VERSION`
          ? { ...entry, mode: 0o666 }
          : entry,
    );
    const file = writeArchive(archives, 'p.tar.zst', compress(craftTar(entries), 'zst'));
    await install(file);
    const mode = (rel: string): string => (statSync(path.join(host.root, 'opt/kata', rel)).mode & 0o7777).toString(8);
    expect({ bin: mode('bin'), shim: mode('bin/containerd-shim-kata-v2'), version: mode('VERSION') }).toEqual({
      bin: '755',
      shim: '755',
      version: '644',
    });
  });
});
