import { KataDeployError } from '../core/errors.js';
import type { Logger } from '../host/logger.js';
import type { Settings } from '../settings/settings.js';
import type { KvmReport } from './kvm.js';

/**
 * The install's KVM policy. Unusable KVM refuses (exit 3) unless KATA_REQUIRE_KVM=false. KVM shown
 * only by its device node and loaded modules (an unprivileged pod cannot open /dev/kvm for the ioctl
 * proof) installs with a warning by default, because that is every DaemonSet pod; operators who want
 * the proof run kata-deploy privileged and set KATA_REQUIRE_KVM_PROOF=true, which refuses without it.
 */
export function applyKvmPolicy(
  kvm: KvmReport,
  settings: Pick<Settings, 'requireKvm' | 'requireKvmProof'>,
  log: Pick<Logger, 'warn'>,
): void {
  if (!settings.requireKvm) return;
  if (!kvm.usable) {
    throw new KataDeployError('node-unsupported', `this node cannot run Kata VMs: ${kvm.reason}`, {
      hint:
        'schedule kata-deploy only on nodes with KVM (or set KATA_REQUIRE_KVM=false to install anyway, e.g. for ' +
        'a lab)',
    });
  }
  if (kvm.proven) return;
  if (settings.requireKvmProof) {
    throw new KataDeployError('node-unsupported', `KVM is not proven on this node: ${kvm.unproven}`, {
      hint:
        'KATA_REQUIRE_KVM_PROOF=true needs /dev/kvm opened: run kata-deploy in a privileged pod (securityContext ' +
        'privileged: true) or on bare metal, or unset KATA_REQUIRE_KVM_PROOF to accept the device and modules as ' +
        'evidence; nothing was changed',
    });
  }
  log.warn({ kvmProven: false }, kvm.unproven ?? 'KVM is not proven by ioctls');
}
