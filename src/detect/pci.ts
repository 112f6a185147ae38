import type { HostFs } from '../host/host-fs.js';

const NVIDIA_VENDOR = '0x10de';

/** True when an NVIDIA device sits on the host's PCI bus (for the qemu-nvidia-gpu shims). */
export async function hasNvidiaGpu(fs: HostFs): Promise<boolean> {
  if (!(await fs.exists('/sys/bus/pci/devices'))) return false;
  for (const device of await fs.readdir('/sys/bus/pci/devices')) {
    const vendor = await fs.readIfExists(`/sys/bus/pci/devices/${device}/vendor`).catch(() => undefined);
    if (vendor?.toString('utf8').trim() === NVIDIA_VENDOR) return true;
  }
  return false;
}
