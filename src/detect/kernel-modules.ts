import { cpuVendorOf, kernelModulesFor, type KernelModule } from '../core/kernel-modules.js';
import { shimInfos } from '../core/shims.js';
import type { HostFs } from '../host/host-fs.js';
import type { Settings } from '../settings/settings.js';

/** The modules the selected shims need, and which of them the running kernel lacks. */
export interface ModulesReport {
  readonly wanted: readonly KernelModule[];
  /** Undefined when /sys/module cannot be read under the host root (nothing can be said). */
  readonly missing: readonly string[] | undefined;
  /** Missing modules without which no Kata pod starts on this node. */
  readonly missingRequired: readonly string[];
}

/**
 * Reads /proc/cpuinfo and /sys/module under the host root: a module is present when the kernel lists it
 * there (loaded, or built in with parameters). Read-only.
 */
export async function detectKernelModules(
  fs: HostFs,
  settings: Pick<Settings, 'arch' | 'shims'>,
): Promise<ModulesReport> {
  const cpuinfo = (await fs.readIfExists('/proc/cpuinfo'))?.toString('utf8') ?? '';
  const wanted = kernelModulesFor(settings.arch, shimInfos(settings.shims), cpuVendorOf(cpuinfo));
  if (!(await fs.exists('/sys/module'))) return { wanted, missing: undefined, missingRequired: [] };
  const missing: string[] = [];
  for (const module of wanted) if (!(await fs.exists(`/sys/module/${module.name}`))) missing.push(module.name);
  const missingRequired = wanted.filter((module) => module.required && missing.includes(module.name));
  return { wanted, missing, missingRequired: missingRequired.map((module) => module.name) };
}
