import type { Arch } from './arch.js';
import type { ShimInfo } from './shims.js';

/** A host kernel module a Kata install wants loaded; a `required` one missing means no Kata pod can start. */
export interface KernelModule {
  readonly name: string;
  readonly required: boolean;
}

/** The CPU maker, which decides the KVM module on x86 (`kvm_intel` or `kvm_amd`). */
export type CpuVendor = 'intel' | 'amd' | undefined;

/**
 * The modules upstream 4.2 loads for the selected shims (#13712): KVM and vhost per arch, none for a
 * remote-only install (the VM runs elsewhere). `kvm` is required (built in, it still shows in /sys/module:
 * it has parameters); the vendor's KVM module is judged by the KVM policy instead. `vhost_vsock` is required
 * with a QEMU shim only, the others use their own hybrid vsock; the vhost and vhost_net are optional.
 */
export function kernelModulesFor(arch: Arch, shims: readonly ShimInfo[], vendor: CpuVendor): KernelModule[] {
  const local = shims.filter((shim) => shim.hypervisor !== 'remote');
  if (local.length === 0) return [];
  const vsockRequired = local.some((shim) => shim.hypervisor === 'qemu');
  const optional = (name: string): KernelModule => ({ name, required: false });
  const vsock: KernelModule = { name: 'vhost_vsock', required: vsockRequired };
  const kvm: KernelModule = { name: 'kvm', required: true };
  switch (arch) {
    case 'x86_64': {
      const vendorKvm = vendor === 'amd' ? ['kvm_amd'] : vendor === 'intel' ? ['kvm_intel'] : [];
      return [kvm, ...vendorKvm.map(optional), optional('vhost'), optional('vhost_net'), vsock];
    }
    case 'aarch64':
      return [kvm, optional('vhost'), optional('vhost_net'), vsock];
    case 'ppc64le':
      return [kvm, optional('kvm_hv'), vsock];
    case 's390x':
      return [kvm, vsock];
  }
}

/** Where the modules are persisted for the next boot: one file per install, as upstream names it. */
export function modulesLoadPath(suffix: string | undefined): string {
  return `/etc/modules-load.d/kata-containers-${suffix ?? 'default'}.conf`;
}

/** The whole text of our modules-load.d file (systemd-modules-load reads one module per line). */
export function renderModulesLoad(modules: readonly KernelModule[]): string {
  const header = '# Written by kata-deploy: kernel modules Kata needs. Removed by `kata-deploy uninstall`.';
  return `${[header, ...modules.map((module) => module.name)].join('\n')}\n`;
}

/** The CPU maker from /proc/cpuinfo's `vendor_id`. */
export function cpuVendorOf(cpuinfo: string): CpuVendor {
  const vendor = /^vendor_id\s*:\s*(\S+)/m.exec(cpuinfo)?.[1];
  if (vendor === 'GenuineIntel') return 'intel';
  if (vendor === 'AuthenticAMD') return 'amd';
  return undefined;
}
