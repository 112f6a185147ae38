import { KataDeployError } from './errors.js';
import type { KernelModule } from './kernel-modules.js';

/** The host unit that reads /etc/modules-load.d and loads what it lists. */
export const MODULES_LOAD_UNIT = 'systemd-modules-load.service';

/** What the node's modules look like before install writes our modules-load.d file. */
export interface ModulesBefore {
  readonly wanted: readonly KernelModule[];
  /** Undefined when /sys/module cannot be read. */
  readonly missing: readonly string[] | undefined;
}

/**
 * The one step an install takes for kernel modules, after our modules-load.d file is on disk: nothing
 * (all there), restart systemd-modules-load so it loads them, or only report (`--restart none` touches no
 * host service; /sys/module unreadable leaves nothing to verify).
 */
export type ModuleStep =
  | { readonly kind: 'none' }
  | { readonly kind: 'unreadable' }
  | { readonly kind: 'report'; readonly missing: readonly string[] }
  | { readonly kind: 'load'; readonly unit: string; readonly missing: readonly string[] };

/** Decides the module step from the node's modules and the restart mode. */
export function planModuleStep(before: ModulesBefore, restart: string): ModuleStep {
  if (before.wanted.length === 0) return { kind: 'none' };
  if (before.missing === undefined) return { kind: 'unreadable' };
  if (before.missing.length === 0) return { kind: 'none' };
  if (restart === 'none') return { kind: 'report', missing: before.missing };
  return { kind: 'load', unit: MODULES_LOAD_UNIT, missing: before.missing };
}

/** What the modules look like after the step, and whether install may go on. */
export interface ModuleVerdict {
  /** Missing before, present now. */
  readonly loaded: readonly string[];
  readonly stillMissing: readonly string[];
  readonly missingRequired: readonly string[];
  /** Set when a required module is missing and the policy refuses (exit 3): install rolls back. */
  readonly refusal: KataDeployError | undefined;
}

/** The kernel option that builds each module, for the operator whose kernel has none to load. */
const KERNEL_OPTION: Readonly<Record<string, string>> = {
  kvm: 'CONFIG_KVM',
  kvm_intel: 'CONFIG_KVM_INTEL',
  kvm_amd: 'CONFIG_KVM_AMD',
  kvm_hv: 'CONFIG_KVM_BOOK3S_64_HV',
  vhost: 'CONFIG_VHOST',
  vhost_net: 'CONFIG_VHOST_NET',
  vhost_vsock: 'CONFIG_VHOST_VSOCK',
};

/**
 * Judges by the kernel's own list (present after the step), not by the load job's result: the unit fails
 * whenever one listed module fails, even if the ones that matter loaded. A required module still missing
 * refuses when `enforce` (KATA_REQUIRE_KVM, default true): no Kata pod could start, whatever the label says.
 */
export function judgeModules(
  before: ModulesBefore,
  present: ReadonlySet<string>,
  enforce: boolean,
  how: string,
): ModuleVerdict {
  const missingBefore = before.missing ?? [];
  const loaded = missingBefore.filter((name) => present.has(name));
  const stillMissing = before.wanted.map((module) => module.name).filter((name) => !present.has(name));
  const missingRequired = before.wanted
    .filter((module) => module.required && stillMissing.includes(module.name))
    .map((module) => module.name);
  const refusal =
    enforce && missingRequired.length > 0
      ? new KataDeployError(
          'node-unsupported',
          `kernel module(s) ${missingRequired.join(', ')} missing after ${how}: no Kata pod can start on this node`,
          {
            hint:
              `load them on the host (modprobe ${missingRequired.join(' ')}), or use a kernel built with ` +
              `${missingRequired.map((name) => KERNEL_OPTION[name] ?? name).join(', ')}; or set ` +
              'KATA_REQUIRE_KVM=false to install anyway (e.g. a lab). Every file was put back; modules that ' +
              'loaded stay loaded',
          },
        )
      : undefined;
  return { loaded, stillMissing, missingRequired, refusal };
}
