import { execFile } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempRoot, type TempRoot } from '../helpers/temp-root.js';

const CLI = path.resolve(import.meta.dirname, '../../dist/cli/main.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { PATH: process.env.PATH ?? '', LOG_FORMAT: 'json', ...env } },
      (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : ((error as { code?: number }).code ?? 1), stdout, stderr });
      },
    );
  });
}

let temp: TempRoot | undefined;
afterEach(async () => {
  await temp?.cleanup();
  temp = undefined;
});

describe('kata-deploy detect', () => {
  it.skipIf(process.arch !== 'x64')('reports x86_64 and usable KVM on this machine', async () => {
    const run = await cli(['detect', '--json']);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.arch).toBe('x86_64');
    expect(report.kvm.usable).toBe(process.getuid?.() === 0);
  });

  it('reports unusable KVM with a reason in a host root without /dev/kvm', async () => {
    temp = await makeTempRoot({ '/etc/containerd/config.toml': 'version = 2\n' });
    const run = await cli(['detect', '--json', '--host-root', temp.root]);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.kvm).toMatchObject({ present: false, usable: false });
    expect(report.kvm.reason).toMatch(/\/dev\/kvm does not exist/);
    expect(report.runtime).toMatchObject({ flavour: 'containerd', configVersion: 2 });
    expect(report.shims.every((shim: { runnable: boolean }) => !shim.runnable)).toBe(true);
  });

  it('prints a human summary without --json', async () => {
    temp = await makeTempRoot({});
    const run = await cli(['detect', '--host-root', temp.root]);
    expect(run.stdout).toMatch(/^arch: {5}x86_64$/m);
    expect(run.stdout).toMatch(/^kvm: {6}not usable/m);
  });

  it('names the kernel modules the node lacks, and those no Kata pod starts without', async () => {
    temp = await makeTempRoot({
      '/proc/cpuinfo': 'vendor_id\t: GenuineIntel\n',
      '/sys/module/kvm': { dir: true },
      '/sys/module/vhost': { dir: true },
    });
    const run = await cli(['detect', '--host-root', temp.root], { SHIMS_X86_64: 'qemu' });
    expect(run.stdout).toContain(
      'modules:  kvm kvm_intel vhost vhost_net vhost_vsock (missing: kvm_intel vhost_net vhost_vsock; no Kata pod ' +
        'starts without vhost_vsock)',
    );
    const json = JSON.parse(
      (await cli(['detect', '--json', '--host-root', temp.root], { SHIMS_X86_64: 'qemu' })).stdout,
    );
    expect(json.modules).toMatchObject({
      missing: ['kvm_intel', 'vhost_net', 'vhost_vsock'],
      missingRequired: ['vhost_vsock'],
    });
  });
});

describe('settings errors', () => {
  it('exits 2 naming the variable', async () => {
    const run = await cli(['detect'], { SHIMS_X86_64: 'qemu nonsense' });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('SHIMS_X86_64: unknown shim "nonsense"');
  });

  it('puts the error on stdout too with --json', async () => {
    const run = await cli(['detect', '--json'], { MULTI_INSTALL_SUFFIX: 'BAD' });
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: false, error: { code: 'usage' } });
  });

  it('exits 2 on an unknown flag', async () => {
    expect((await cli(['detect', '--no-such-flag'])).code).toBe(2);
  });
});

describe('--help', () => {
  it.each(['detect', 'install', 'uninstall', 'status', 'daemon'])(
    'works for %s and lists the environment variables',
    async (command) => {
      const run = await cli([command, '--help']);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`Usage: kata-deploy ${command}`);
      expect(run.stdout).toContain('SHIMS_<ARCH>');
    },
  );

  it('works for the program', async () => {
    const run = await cli(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/detect.*\n.*install/s);
  });
});
