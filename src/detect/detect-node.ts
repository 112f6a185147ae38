import { detectKernelModules, type ModulesReport } from './kernel-modules.js';
import type { Arch } from '../core/arch.js';
import type { CommandRunner } from '../host/command-runner.js';
import type { HostFs } from '../host/host-fs.js';
import type { Settings } from '../settings/settings.js';
import { assessKvm, gatherKvmFacts, type KvmReport } from './kvm.js';
import type { KvmProber } from './kvm-prober.js';
import { hasNvidiaGpu } from './pci.js';
import { detectRuntime, type RuntimeReport, type SocketVersionProbe } from './runtime.js';
import { assessShims, type ShimSupport } from './shim-support.js';
import { detectTee, type TeeReport } from './tee.js';

/** Everything `kata-deploy detect` reports, and the facts install plans from. */
export interface NodeReport {
  readonly arch: Arch;
  readonly kvm: KvmReport;
  readonly tee: TeeReport;
  readonly shims: readonly ShimSupport[];
  readonly runtime: RuntimeReport;
  readonly modules: ModulesReport;
}

/** The side effects detection needs, all injectable so a temp host root can stand in for a node. */
export interface DetectPorts {
  readonly fs: HostFs;
  readonly runner: CommandRunner;
  readonly kvmProber: KvmProber;
  readonly socketVersion: SocketVersionProbe;
}

/**
 * Reads the node (never writes) and judges what it can run. The reads are independent, so the runtime's
 * socket and binaries are asked while KVM, TEE and PCI are read; a failure is reported in that order.
 */
export async function detectNode(settings: Settings, ports: DetectPorts): Promise<NodeReport> {
  const runtimeRead = detectRuntime(ports.fs, ports.runner, settings, ports.socketVersion);
  runtimeRead.catch(() => undefined);
  const kvmRead = gatherKvmFacts(ports.fs, ports.kvmProber);
  const teeRead = detectTee(ports.fs);
  const gpuRead = hasNvidiaGpu(ports.fs);
  const modulesRead = detectKernelModules(ports.fs, settings);
  await Promise.allSettled([kvmRead, teeRead, gpuRead, runtimeRead, modulesRead]);
  const kvm = assessKvm(await kvmRead);
  const tee = await teeRead;
  const gpu = await gpuRead;
  const runtime = await runtimeRead;
  const modules = await modulesRead;
  return { arch: settings.arch, kvm, tee, shims: assessShims(settings.shims, kvm, tee, gpu), runtime, modules };
}
