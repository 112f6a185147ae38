import type { HostFs } from '../host/host-fs.js';
import type { KvmProber, KvmProbe } from './kvm-prober.js';

/** Whether this node can run Kata VMs, with the evidence an operator can check by hand. */
export interface KvmReport {
  readonly present: boolean;
  readonly usable: boolean;
  readonly evidence: readonly string[];
  readonly reason: string | undefined;
}

/** Facts about KVM read from the host root, before any judgement. */
export interface KvmFacts {
  readonly device: {
    readonly kind: 'missing' | 'char' | 'other' | 'unresolvable';
    readonly major?: number;
    readonly minor?: number;
    /** Why the path could not be followed (a symlink loop, a link out of the host root). */
    readonly problem?: string;
  };
  readonly modules: readonly string[];
  readonly cpuFlags: readonly string[];
  readonly probe: KvmProbe | undefined;
}

const KVM_MAJOR = 10;
const KVM_MINOR = 232;

/**
 * Judges KVM from facts: the device must be the misc char device 10:232 and the kernel must answer a
 * KVM ioctl and create a VM. Modules and cpu flags are reported as evidence only, because built-in KVM
 * has no module directory and nested hosts hide vmx/svm.
 */
export function assessKvm(facts: KvmFacts): KvmReport {
  const evidence: string[] = [];
  if (facts.modules.length > 0) evidence.push(`kernel modules loaded: ${facts.modules.join(', ')}`);
  if (facts.cpuFlags.length > 0) evidence.push(`cpu flags: ${facts.cpuFlags.join(', ')}`);
  else evidence.push('no vmx/svm flag in /proc/cpuinfo (normal on nested hosts; not used as proof)');
  const { device } = facts;
  if (device.kind === 'missing') {
    return {
      present: false,
      usable: false,
      evidence,
      reason:
        '/dev/kvm does not exist: enable virtualisation in firmware and load kvm_intel or kvm_amd (or mount /dev/kvm ' +
        'into the pod)',
    };
  }
  if (device.kind === 'unresolvable')
    return { present: false, usable: false, evidence, reason: `/dev/kvm cannot be resolved: ${device.problem}` };
  if (device.kind !== 'char' || device.major !== KVM_MAJOR || device.minor !== KVM_MINOR) {
    const what = device.kind === 'char' ? `character device ${device.major}:${device.minor}` : 'not a character device';
    return { present: false, usable: false, evidence, reason: `/dev/kvm is ${what}, not the KVM device 10:232` };
  }
  evidence.push('/dev/kvm is character device 10:232');
  const probe = facts.probe;
  if (probe === undefined || !probe.ok) {
    return {
      present: true,
      usable: false,
      evidence,
      reason: `/dev/kvm did not answer KVM ioctls: ${probe?.ok === false ? probe.reason : 'not probed'}`,
    };
  }
  evidence.push(`KVM_GET_API_VERSION = ${probe.apiVersion}`);
  if (probe.apiVersion !== 12)
    return {
      present: true,
      usable: false,
      evidence,
      reason: `unexpected KVM API version ${probe.apiVersion} (12 expected)`,
    };
  if (!probe.vmCreated)
    return {
      present: true,
      usable: false,
      evidence,
      reason: 'KVM_CREATE_VM failed: the kernel refuses to create VMs (is another hypervisor holding VT-x/AMD-V?)',
    };
  evidence.push('KVM_CREATE_VM succeeded');
  return { present: true, usable: true, evidence, reason: undefined };
}

/** Reads the KVM facts from the host root and asks the prober about the device. */
export async function gatherKvmFacts(fs: HostFs, prober: KvmProber): Promise<KvmFacts> {
  let stats: Awaited<ReturnType<HostFs['stat']>>;
  let problem: string | undefined;
  try {
    stats = await fs.stat('/dev/kvm');
  } catch (error) {
    problem = /too many symlinks/.test((error as Error).message) ? 'too many symlinks' : (error as Error).message;
  }
  const device: KvmFacts['device'] =
    problem !== undefined
      ? { kind: 'unresolvable', problem }
      : stats === undefined
        ? { kind: 'missing' }
        : stats.isCharacterDevice()
          ? {
              kind: 'char',
              major: Math.floor(stats.rdev / 256) & 0xfff,
              minor: (stats.rdev & 0xff) | ((stats.rdev >> 12) & 0xfff00),
            }
          : { kind: 'other' };
  const modules: string[] = [];
  for (const name of ['kvm', 'kvm_intel', 'kvm_amd', 'kvm_hv']) {
    if (await fs.exists(`/sys/module/${name}`)) modules.push(name);
  }
  const cpuinfo = (await fs.readIfExists('/proc/cpuinfo'))?.toString('utf8') ?? '';
  const flagsLine = /^(flags|features)\s*:(.*)$/m.exec(cpuinfo)?.[2] ?? '';
  const cpuFlags = flagsLine.split(/\s+/).filter((flag) => flag === 'vmx' || flag === 'svm' || flag === 'sie');
  const probe =
    device.kind === 'char' && device.major === KVM_MAJOR && device.minor === KVM_MINOR
      ? await prober.probe(await fs.realPath('/dev/kvm'))
      : undefined;
  return { device, modules, cpuFlags: [...new Set(cpuFlags)], probe };
}
