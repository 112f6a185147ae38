import type { HostFs } from '../host/host-fs.js';
import type { KvmProber, KvmProbe } from './kvm-prober.js';

/** Whether this node can run Kata VMs, with the evidence an operator can check by hand. */
export interface KvmReport {
  readonly present: boolean;
  readonly usable: boolean;
  /** True only when the kernel answered KVM ioctls on the device (the proof); see `unproven`. */
  readonly proven: boolean;
  readonly evidence: readonly string[];
  readonly reason: string | undefined;
  /**
   * Set when KVM counts as usable without the ioctl proof: the device could not be opened here (an
   * unprivileged pod's device cgroup), but the device node and the loaded modules show KVM. Says what
   * the proof needs; KATA_REQUIRE_KVM_PROOF=true makes its absence fatal.
   */
  readonly unproven: string | undefined;
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
  /** The KVM modules in /sys/module (kvm, and the vendor's: kvm_intel, kvm_amd, kvm_hv, …). */
  readonly modules: readonly string[];
  /** Per module, the parameters that say what KVM offers (nested, ept/npt, sev, tdx), as the kernel prints them. */
  readonly moduleParameters?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly cpuFlags: readonly string[];
  readonly probe: KvmProbe | undefined;
}

/** Module parameters worth reporting: nested virtualisation, second-level paging, confidential guests. */
const REPORTED_PARAMETERS = ['nested', 'ept', 'npt', 'sev', 'sev_es', 'sev_snp', 'tdx'];

const KVM_MAJOR = 10;
const KVM_MINOR = 232;

/**
 * Judges KVM from facts: the device must be the misc char device 10:232 and the kernel must answer a
 * KVM ioctl and create a VM (proven). Where the device cannot be opened at all (an unprivileged pod),
 * the device plus a loaded kvm module count as usable but unproven (withoutProof). Modules and cpu
 * flags are never proof on their own: a loaded module does not show the device works, and nested hosts hide
 * vmx/svm. (Built-in KVM still has /sys/module/kvm: the kernel lists built-in code with parameters there.)
 */
export function assessKvm(facts: KvmFacts): KvmReport {
  const evidence: string[] = [];
  if (facts.modules.length > 0) evidence.push(`kernel modules loaded: ${facts.modules.join(', ')}`);
  for (const [module, parameters] of Object.entries(facts.moduleParameters ?? {})) {
    const shown = Object.entries(parameters).map(([name, value]) => `${name}=${value}`);
    if (shown.length > 0) evidence.push(`${module} parameters: ${shown.join(', ')}`);
  }
  if (facts.cpuFlags.length > 0) evidence.push(`cpu flags: ${facts.cpuFlags.join(', ')}`);
  else evidence.push('no vmx/svm flag in /proc/cpuinfo (normal on nested hosts; not used as proof)');
  const { device } = facts;
  if (device.kind === 'missing') {
    return {
      ...notUsable(false, evidence),
      reason:
        '/dev/kvm does not exist: enable virtualisation in firmware and load kvm_intel or kvm_amd (or mount /dev/kvm ' +
        'into the pod)',
    };
  }
  if (device.kind === 'unresolvable')
    return { ...notUsable(false, evidence), reason: `/dev/kvm cannot be resolved: ${device.problem}` };
  if (device.kind !== 'char' || device.major !== KVM_MAJOR || device.minor !== KVM_MINOR) {
    const what = device.kind === 'char' ? `character device ${device.major}:${device.minor}` : 'not a character device';
    return { ...notUsable(false, evidence), reason: `/dev/kvm is ${what}, not the KVM device 10:232` };
  }
  evidence.push('/dev/kvm is character device 10:232');
  const probe = facts.probe;
  if (probe?.ok === false && probe.openDenied !== undefined) return withoutProof(facts, probe.reason, evidence);
  if (probe === undefined || !probe.ok) {
    return {
      ...notUsable(true, evidence),
      reason: `/dev/kvm did not answer KVM ioctls: ${probe?.ok === false ? probe.reason : 'not probed'}`,
    };
  }
  evidence.push(`KVM_GET_API_VERSION = ${probe.apiVersion}`);
  if (probe.apiVersion !== 12)
    return { ...notUsable(true, evidence), reason: `unexpected KVM API version ${probe.apiVersion} (12 expected)` };
  if (!probe.vmCreated)
    return {
      ...notUsable(true, evidence),
      reason:
        `KVM_CREATE_VM failed${probe.vmErrno === undefined ? '' : ` (errno ${probe.vmErrno})`}: the kernel refuses ` +
        'to create VMs (is another hypervisor holding VT-x/AMD-V?)',
    };
  evidence.push('KVM_CREATE_VM succeeded');
  return { present: true, usable: true, proven: true, evidence, reason: undefined, unproven: undefined };
}

function notUsable(present: boolean, evidence: readonly string[]): Omit<KvmReport, 'reason'> {
  return { present, usable: false, proven: false, evidence, unproven: undefined };
}

/**
 * The device is 10:232 but could not be opened here. Opening is what an unprivileged pod cannot do (its
 * device cgroup allows no /dev/kvm), so the policy is: the device node plus a loaded kvm module is
 * enough to install (with a warning naming what is missing), and KATA_REQUIRE_KVM_PROOF=true refuses.
 * Without the module there is nothing beyond a device node, which anyone can mknod.
 */
function withoutProof(facts: KvmFacts, openFailure: string, evidence: string[]): KvmReport {
  const why =
    `the KVM ioctl proof (KVM_GET_API_VERSION, KVM_CREATE_VM) was not possible: ${openFailure}` +
    (facts.probe?.ok === false && facts.probe.openDenied === 'EPERM'
      ? " (the container's device cgroup refuses /dev/kvm)"
      : '');
  evidence.push(why);
  if (!facts.modules.includes('kvm')) {
    return {
      ...notUsable(true, evidence),
      reason:
        `${why}, and /sys/module/kvm is not there to show KVM is loaded: mount the host's /sys, or run ` +
        'kata-deploy in a privileged pod or on bare metal for the proof',
    };
  }
  const unproven =
    `KVM is taken as usable without proof: /dev/kvm is 10:232 and ${facts.modules.join(', ')} ` +
    `${facts.modules.length === 1 ? 'is' : 'are'} loaded, but ${why}; the proof needs a privileged pod or bare ` +
    'metal (set KATA_REQUIRE_KVM_PROOF=true to refuse nodes without it)';
  return { present: true, usable: true, proven: false, evidence, reason: undefined, unproven };
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
  const loaded = await fs.readdir('/sys/module').catch(() => [] as string[]);
  const modules = loaded.filter((name) => /^kvm(_\w+)?$/.test(name)).sort();
  const moduleParameters: Record<string, Record<string, string>> = {};
  for (const module of modules) {
    for (const name of REPORTED_PARAMETERS) {
      const value = (await fs.readIfExists(`/sys/module/${module}/parameters/${name}`).catch(() => undefined))
        ?.toString('utf8')
        .trim();
      if (value !== undefined && value !== '')
        moduleParameters[module] = { ...moduleParameters[module], [name]: value };
    }
  }
  const cpuinfo = (await fs.readIfExists('/proc/cpuinfo'))?.toString('utf8') ?? '';
  const flagsLine = /^(flags|features)\s*:(.*)$/m.exec(cpuinfo)?.[2] ?? '';
  const cpuFlags = flagsLine.split(/\s+/).filter((flag) => flag === 'vmx' || flag === 'svm' || flag === 'sie');
  const probe =
    device.kind === 'char' && device.major === KVM_MAJOR && device.minor === KVM_MINOR
      ? await prober.probe(await fs.realPath('/dev/kvm'))
      : undefined;
  return { device, modules, moduleParameters, cpuFlags: [...new Set(cpuFlags)], probe };
}
