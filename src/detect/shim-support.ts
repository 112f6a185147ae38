import { SHIM_CATALOGUE } from '../core/shims.js';
import type { KvmReport } from './kvm.js';
import type { TeeReport } from './tee.js';

/** Whether one selected shim can start VMs on this node, and why not. */
export interface ShimSupport {
  readonly shim: string;
  readonly runnable: boolean;
  readonly reason: string | undefined;
}

const TEE_NAMES = { tdx: 'Intel TDX', snp: 'AMD SEV-SNP', se: 'IBM Secure Execution', cca: 'Arm CCA' } as const;

/**
 * Decides per shim from the node's KVM and TEE facts. Installing a shim the node cannot run is allowed
 * (the handler exists, pods fail), so this is reported, not enforced, except where the caller asks.
 */
export function assessShims(
  shims: readonly string[],
  kvm: KvmReport,
  tee: TeeReport,
  hasNvidiaGpu: boolean,
): ShimSupport[] {
  return shims.map((shim) => {
    const info = SHIM_CATALOGUE.get(shim);
    if (info === undefined) return { shim, runnable: false, reason: 'unknown shim' };
    if (!kvm.usable) return { shim, runnable: false, reason: `needs KVM: ${kvm.reason ?? 'not usable'}` };
    if (info.tee !== undefined && !tee.available[info.tee]) {
      return { shim, runnable: false, reason: `needs ${TEE_NAMES[info.tee]}, which the host kernel does not enable` };
    }
    if (info.gpu && !hasNvidiaGpu)
      return { shim, runnable: false, reason: 'needs an NVIDIA GPU on the PCI bus; none found' };
    return { shim, runnable: true, reason: undefined };
  });
}
