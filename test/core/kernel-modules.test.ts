import { afterEach, describe, expect, it } from 'vitest';
import {
  cpuVendorOf,
  kernelModulesFor,
  modulesLoadPath,
  renderModulesLoad,
  type CpuVendor,
} from '../../src/core/kernel-modules.js';
import type { Arch } from '../../src/core/arch.js';
import { shimInfos } from '../../src/core/shims.js';
import { detectKernelModules } from '../../src/detect/kernel-modules.js';
import { NodeHostFs } from '../../src/host/node-host-fs.js';
import { makeTempRoot, type TempRoot } from '../helpers/temp-root.js';

function names(arch: Arch, shims: string, vendor: CpuVendor = undefined): string[] {
  return kernelModulesFor(arch, shimInfos(shims.split(' ')), vendor).map(
    (module) => `${module.name}${module.required ? '!' : ''}`,
  );
}

describe('kernel modules per arch, as upstream 4.2 loads them (! = required)', () => {
  it.each([
    ['x86_64', 'qemu', 'intel', ['kvm!', 'kvm_intel', 'vhost', 'vhost_net', 'vhost_vsock!']],
    ['x86_64', 'qemu-runtime-rs', 'amd', ['kvm!', 'kvm_amd', 'vhost', 'vhost_net', 'vhost_vsock!']],
    ['x86_64', 'clh dragonball', 'intel', ['kvm!', 'kvm_intel', 'vhost', 'vhost_net', 'vhost_vsock']],
    ['aarch64', 'qemu', undefined, ['kvm!', 'vhost', 'vhost_net', 'vhost_vsock!']],
    ['ppc64le', 'qemu', undefined, ['kvm!', 'kvm_hv', 'vhost_vsock!']],
    ['s390x', 'qemu-runtime-rs', undefined, ['kvm!', 'vhost_vsock!']],
    ['x86_64', 'remote', 'intel', []],
    ['x86_64', 'remote qemu', 'intel', ['kvm!', 'kvm_intel', 'vhost', 'vhost_net', 'vhost_vsock!']],
  ] as const)('%s with %s (%s CPU) → %j', (arch, shims, vendor, expected) => {
    expect(names(arch, shims, vendor)).toEqual(expected);
  });

  it('persists them in one file per install', () => {
    expect(modulesLoadPath(undefined)).toBe('/etc/modules-load.d/kata-containers-default.conf');
    expect(modulesLoadPath('blue')).toBe('/etc/modules-load.d/kata-containers-blue.conf');
    const text = renderModulesLoad(kernelModulesFor('s390x', shimInfos(['qemu']), undefined));
    expect(text.split('\n').filter((line) => line !== '' && !line.startsWith('#'))).toEqual(['kvm', 'vhost_vsock']);
  });

  it('reads the CPU maker from /proc/cpuinfo', () => {
    expect(cpuVendorOf('processor\t: 0\nvendor_id\t: GenuineIntel\n')).toBe('intel');
    expect(cpuVendorOf('vendor_id\t: AuthenticAMD\n')).toBe('amd');
    expect(cpuVendorOf('processor : 0\n')).toBeUndefined();
  });
});

describe('detectKernelModules', () => {
  let root: TempRoot | undefined;
  afterEach(async () => root?.cleanup());

  it('reports the missing ones from /sys/module, and which of them no Kata pod can do without', async () => {
    root = await makeTempRoot({
      '/proc/cpuinfo': 'vendor_id\t: AuthenticAMD\n',
      '/sys/module/kvm': { dir: true },
      '/sys/module/kvm_amd': { dir: true },
      '/sys/module/vhost': { dir: true },
    });
    const report = await detectKernelModules(new NodeHostFs(root.root), { arch: 'x86_64', shims: ['qemu', 'clh'] });
    expect(report.missing).toEqual(['vhost_net', 'vhost_vsock']);
    expect(report.missingRequired).toEqual(['vhost_vsock']);
  });

  it('says nothing is known when /sys/module cannot be read', async () => {
    root = await makeTempRoot({ '/etc': { dir: true } });
    const report = await detectKernelModules(new NodeHostFs(root.root), { arch: 'x86_64', shims: ['qemu'] });
    expect(report.missing).toBeUndefined();
    expect(report.wanted.map((module) => module.name)).toContain('vhost_vsock');
  });
});
