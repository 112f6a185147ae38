import { closeSync, fstatSync, openSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KataDeployError } from '../../src/core/errors.js';
import { stagePayload } from '../../src/payload/index.js';
import { makeTempRoot, type TempRoot } from '../helpers/temp-root.js';
import { compress, craftTar, ELF_AARCH64, fakeElf, type CraftEntry } from '../helpers/tar-craft.js';
import {
  commitAndFinalize,
  minimalPayload,
  payloadPorts,
  payloadSettings,
  sha256,
  snapshot,
  writeArchive,
} from './fixtures.js';

const K = './opt/kata';

interface Case {
  readonly title: string;
  readonly entries: CraftEntry[];
  readonly message: RegExp;
  readonly limits?: { maxEntries?: number; maxTotalBytes?: number; maxFileBytes?: number };
}

const CASES: Case[] = [
  {
    title: 'a member with a ".." segment',
    entries: minimalPayload({ extra: [{ name: `${K}/../../etc/cron.d/evil`, body: 'x' }] }),
    message: /"\.\/opt\/kata\/\.\.\/\.\.\/etc\/cron\.d\/evil": path contains "\.\."/,
  },
  {
    title: 'an absolute member name',
    entries: minimalPayload({ extra: [{ name: '/etc/passwd', body: 'root::0:0' }] }),
    message: /"\/etc\/passwd": absolute path/,
  },
  {
    title: 'a member outside opt/kata/',
    entries: minimalPayload({ extra: [{ name: './usr/local/bin/kata', body: 'x' }] }),
    message: /"\.\/usr\/local\/bin\/kata": outside opt\/kata\//,
  },
  {
    title: 'a sibling of opt/kata',
    entries: minimalPayload({ extra: [{ name: './opt/kata-other/bin/x', body: 'x' }] }),
    message: /"\.\/opt\/kata-other\/bin\/x": outside opt\/kata\//,
  },
  {
    title: 'a symlink escaping with ..',
    entries: minimalPayload({ extra: [{ name: `${K}/share/evil`, type: 'symlink', linkName: '../../../etc' }] }),
    message: /"opt\/kata\/share\/evil": symlink to "\.\.\/\.\.\/\.\.\/etc" escapes the install dir/,
  },
  {
    title: 'a symlink to an absolute path',
    entries: minimalPayload({ extra: [{ name: `${K}/bin/evil`, type: 'symlink', linkName: '/etc/shadow' }] }),
    message: /"\.\/opt\/kata\/bin\/evil": symlink to absolute path "\/etc\/shadow" escapes/,
  },
  {
    title: 'a symlink that escapes only through a later symlink',
    entries: minimalPayload({
      extra: [
        { name: `${K}/x`, type: 'symlink', linkName: 'd/../../etc' },
        { name: `${K}/d`, type: 'symlink', linkName: '.' },
      ],
    }),
    message: /"opt\/kata\/x": symlink to "d\/\.\.\/\.\.\/etc" escapes the install dir/,
  },
  {
    title: 'a file written through an earlier symlink',
    entries: minimalPayload({
      extra: [
        { name: `${K}/lib`, type: 'symlink', linkName: 'share' },
        { name: `${K}/lib/evil`, body: 'x' },
      ],
    }),
    message: /"\.\/opt\/kata\/lib\/evil": is written through the symlink "lib"/,
  },
  {
    title: 'a hardlink to a path outside the install dir',
    entries: minimalPayload({ extra: [{ name: `${K}/bin/passwd`, type: 'hardlink', linkName: './etc/passwd' }] }),
    message: /"\.\/opt\/kata\/bin\/passwd": outside opt\/kata\//,
  },
  {
    title: 'a hardlink to a member that does not precede it',
    entries: minimalPayload({ extra: [{ name: `${K}/bin/copy`, type: 'hardlink', linkName: `${K}/bin/not-there` }] }),
    message: /"\.\/opt\/kata\/bin\/copy": hardlink to "bin\/not-there", which is not an earlier regular file/,
  },
  {
    title: 'a character device',
    entries: minimalPayload({ extra: [{ name: `${K}/dev-null`, type: 'char' }] }),
    message: /"\.\/opt\/kata\/dev-null": is a device node/,
  },
  {
    title: 'a block device',
    entries: minimalPayload({ extra: [{ name: `${K}/sda`, type: 'block' }] }),
    message: /"\.\/opt\/kata\/sda": is a device node/,
  },
  {
    title: 'a FIFO',
    entries: minimalPayload({ extra: [{ name: `${K}/fifo`, type: 'fifo' }] }),
    message: /"\.\/opt\/kata\/fifo": is a FIFO/,
  },
  {
    title: 'a setuid file',
    entries: minimalPayload({ extra: [{ name: `${K}/bin/suid`, body: 'x', mode: 0o4755 }] }),
    message: /"\.\/opt\/kata\/bin\/suid": has the setuid\/setgid bit \(mode 4755\)/,
  },
  {
    title: 'a setgid directory',
    entries: minimalPayload({ extra: [{ name: `${K}/sgid/`, type: 'dir', mode: 0o2755 }] }),
    message: /"\.\/opt\/kata\/sgid\/": has the setuid\/setgid bit/,
  },
  {
    title: 'more bytes than the total limit',
    entries: minimalPayload(),
    limits: { maxTotalBytes: 20_000 },
    message: /payload unpacks to more than 20000 bytes \(decompression bomb\?\)/,
  },
  {
    title: 'one file over the per-file limit',
    entries: minimalPayload(),
    limits: { maxFileBytes: 9000 },
    message: /is \d+ bytes, more than the 9000-byte limit for one file/,
  },
  {
    title: 'more members than the entry limit',
    entries: minimalPayload(),
    limits: { maxEntries: 5 },
    message: /more than 5 members \(decompression bomb\?\)/,
  },
  {
    title: 'a duplicate file with other contents',
    entries: minimalPayload({ extra: [{ name: `${K}/VERSION`, body: '9.9.9\n' }] }),
    message: /"\.\/opt\/kata\/VERSION": appears twice with different contents/,
  },
  {
    title: 'a duplicate symlink with another target',
    entries: minimalPayload({
      extra: [{ name: `${K}/share/kata-containers/vmlinuz.container`, type: 'symlink', linkName: 'other' }],
    }),
    message: /vmlinuz\.container": appears twice with different contents/,
  },
  {
    title: 'a path that is a file and then a directory',
    entries: minimalPayload({ extra: [{ name: `${K}/VERSION/`, type: 'dir' }] }),
    message: /"\.\/opt\/kata\/VERSION\/": appears twice with different contents/,
  },
  {
    title: 'binaries built for another arch',
    entries: minimalPayload({ shimBody: fakeElf(ELF_AARCH64) }),
    message: new RegExp(
      /payload is built for aarch64: opt\/kata\/bin\/containerd-shim-kata-v2 \(needed by /.source +
        /shim "qemu"\) is not an x86_64 binary/.source,
    ),
  },
  {
    title: 'a missing kernel a shim needs',
    entries: minimalPayload({ omit: ['vmlinuz-6.18.35-200'] }),
    message: new RegExp(
      /payload lacks opt\/kata\/share\/kata-containers\/vmlinuz\.container \("kernel" in /.source +
        /share\/defaults\/kata-containers\/configuration-qemu\.toml\), which shim "qemu" needs/.source,
    ),
  },
  {
    title: 'a missing runtime-rs shim binary',
    entries: minimalPayload({ omit: ['runtime-rs/bin/containerd-shim-kata-v2'] }),
    message: new RegExp(
      /payload lacks opt\/kata\/runtime-rs\/bin\/containerd-shim-kata-v2 \(the containerd /.source +
        /shim\), which shim "qemu-runtime-rs" needs/.source,
    ),
  },
  {
    title: 'a missing pristine configuration',
    entries: minimalPayload({ omit: ['configuration-qemu-runtime-rs.toml'] }),
    message: new RegExp(
      /lacks opt\/kata\/share\/defaults\/kata-containers\/runtime-rs\//.source +
        /configuration-qemu-runtime-rs\.toml \(its pristine Kata configuration\)/.source,
    ),
  },
];

describe('stagePayload refuses unsafe or unusable payloads', () => {
  let host: TempRoot;
  let archives: string;

  beforeEach(async () => {
    host = await makeTempRoot({ '/etc/hostname': 'node-1\n' });
    archives = await mkdtemp(path.join(tmpdir(), 'kata-archives-'));
  });
  afterEach(async () => {
    await host.cleanup();
    await rm(archives, { recursive: true, force: true });
  });

  for (const testCase of CASES) {
    it(`refuses ${testCase.title}, with exit 4 naming the member, and leaves the host untouched`, async () => {
      const before = snapshot(host.root);
      const file = writeArchive(archives, 'p.tar.zst', compress(craftTar(testCase.entries), 'zst'));
      const ports = payloadPorts(host.root, {
        maxEntries: 1000,
        maxTotalBytes: 1 << 30,
        maxFileBytes: 1 << 30,
        ...testCase.limits,
      });
      const error = await stagePayload(payloadSettings(file), ports).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(KataDeployError);
      expect((error as KataDeployError).code).toBe('bad-payload');
      expect((error as KataDeployError).exitCode).toBe(4);
      expect((error as Error).message).toMatch(testCase.message);
      expect(snapshot(host.root)).toEqual(before);
    });
  }

  it(
    'accepts the same minimal payload when nothing is wrong with it (the cases above differ only in their ' + 'flaw)',
    async () => {
      const file = writeArchive(archives, 'p.tar.zst', compress(craftTar(minimalPayload()), 'zst'));
      const staged = await stagePayload(payloadSettings(file), payloadPorts(host.root));
      await commitAndFinalize(staged, payloadSettings(file), payloadPorts(host.root));
      expect(snapshot(host.root)['opt/kata/share/kata-containers/vmlinuz.container']).toBe('link vmlinuz-6.18.35-200');
    },
  );

  it('refuses a checksum mismatch and leaves an existing install as it was', async () => {
    const good = writeArchive(archives, 'good.tar.zst', compress(craftTar(minimalPayload()), 'zst'));
    await commitAndFinalize(
      await stagePayload(payloadSettings(good), payloadPorts(host.root)),
      payloadSettings(good),
      payloadPorts(host.root),
    );
    const before = snapshot(host.root);
    const next = compress(craftTar(minimalPayload({ version: '4.1.0' })), 'zst');
    const file = writeArchive(archives, 'next.tar.zst', next);
    const wrong = sha256(Buffer.from('something else'));
    const error = await stagePayload(payloadSettings(file, { payloadSha256: wrong }), payloadPorts(host.root)).catch(
      (caught: unknown) => caught,
    );
    expect((error as KataDeployError).code).toBe('bad-payload');
    expect((error as Error).message).toContain(`has sha256 ${sha256(next)}, expected ${wrong} (checksum mismatch)`);
    expect(snapshot(host.root)).toEqual(before);
  });

  it('closes the archive only once, and only its own fd, when it refuses data that is not tar', async () => {
    // A destroyed fs.ReadStream closed the archive's fd on its own: our close then failed with EBADF (a raw
    // error instead of exit 4), or closed whichever file had been given the number next.
    const file = writeArchive(archives, 'bad.gz', compress(Buffer.from('not a tarball, '.repeat(4000)), 'gz'));
    for (let round = 0; round < 20; round++) {
      const error = await stagePayload(payloadSettings(file), payloadPorts(host.root)).catch(
        (caught: unknown) => caught,
      );
      expect((error as KataDeployError).code).toBe('bad-payload');
      const sentinel = openSync(file, 'r');
      await sleep(5);
      expect(() => fstatSync(sentinel)).not.toThrow();
      closeSync(sentinel);
    }
  });

  it('refuses a truncated archive and data that is not tar at all', async () => {
    const whole = craftTar(minimalPayload());
    for (const data of [
      compress(whole.subarray(0, 3000), 'xz'),
      compress(Buffer.from('hello, this is not a tarball at all'.repeat(40)), 'gz'),
    ]) {
      const file = writeArchive(archives, 'bad', data);
      const error = await stagePayload(payloadSettings(file), payloadPorts(host.root)).catch(
        (caught: unknown) => caught,
      );
      expect((error as KataDeployError).code).toBe('bad-payload');
      expect((error as Error).message).toMatch(/truncated|not a tar stream/);
    }
    expect(snapshot(host.root)).toEqual({ etc: 'dir 755', 'etc/hostname': expect.stringMatching(/^file 644/) });
  });
});
