import type { Tee } from '../core/shims.js';
import type { HostFs } from '../host/host-fs.js';

/** Which trusted-execution technologies the host kernel offers to guests, with where each was read. */
export interface TeeReport {
  readonly available: Readonly<Record<Tee, boolean>>;
  readonly evidence: readonly string[];
}

/** sysfs files whose value "Y"/"1" means the kernel enabled a TEE for KVM guests. */
const TEE_FILES: readonly { readonly tee: Tee; readonly path: string }[] = [
  { tee: 'tdx', path: '/sys/module/kvm_intel/parameters/tdx' },
  { tee: 'snp', path: '/sys/module/kvm_amd/parameters/sev_snp' },
  { tee: 'se', path: '/sys/firmware/uv/prot_virt_host' },
  { tee: 'cca', path: '/sys/module/kvm/parameters/rme' },
];

function enabled(value: string): boolean {
  return ['y', '1'].includes(value.trim().toLowerCase());
}

/** Reads the kernel's TEE switches from sysfs under the host root. */
export async function detectTee(fs: HostFs): Promise<TeeReport> {
  const available: Record<Tee, boolean> = { tdx: false, snp: false, se: false, cca: false };
  const evidence: string[] = [];
  for (const { tee, path } of TEE_FILES) {
    const raw = await fs.readIfExists(path);
    if (raw === undefined) continue;
    const value = raw.toString('utf8').trim();
    available[tee] = enabled(value);
    evidence.push(`${path} = ${value}`);
  }
  if (evidence.length === 0) evidence.push('no TEE parameters exposed by the kernel');
  return { available, evidence };
}
