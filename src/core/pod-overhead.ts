import type { Hypervisor } from './shims.js';

/** Host-side cost of one sandbox beyond its guest: the VMM process, the shim, virtiofsd and friends. */
export interface HostOverhead {
  readonly memoryMiB: number;
  readonly cpuMillis: number;
}

/**
 * The per-hypervisor part of a RuntimeClass's `overhead.podFixed`, added to the guest size read from
 * the shim's own Kata config (`default_memory`, `default_vcpus`). With `sandbox_cgroup_only` (Kata's
 * default) the whole VM is charged to the pod cgroup, so the scheduler must reserve the guest's base
 * size plus what runs beside it on the host.
 *
 * The figures are the ones upstream kata-deploy shipped as its static podFixed values, which measured
 * exactly that host-side part: QEMU 160 MiB (a larger binary and more device models), the Rust VMMs
 * and Firecracker 130 MiB; 250 mCPU each for the VMM's I/O and vCPU management threads. `remote` (peer pods)
 * runs its guest on another machine: only its 120 MiB of shim and proxy is charged here (upstream's figure).
 */
export const HOST_OVERHEAD: Readonly<Record<Hypervisor, HostOverhead>> = Object.freeze({
  qemu: { memoryMiB: 160, cpuMillis: 250 },
  clh: { memoryMiB: 130, cpuMillis: 250 },
  fc: { memoryMiB: 130, cpuMillis: 250 },
  dragonball: { memoryMiB: 130, cpuMillis: 250 },
  stratovirt: { memoryMiB: 130, cpuMillis: 250 },
  openvmm: { memoryMiB: 130, cpuMillis: 250 },
  remote: { memoryMiB: 120, cpuMillis: 250 },
});

/** Kata's own default guest memory (MiB) when a config leaves `default_memory` out. */
export const KATA_DEFAULT_MEMORY_MIB = 2048;
/** Kata's own default vCPU count when a config leaves `default_vcpus` out. */
export const KATA_DEFAULT_VCPUS = 1;
