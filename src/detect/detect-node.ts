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

/** Reads the node (never writes) and judges what it can run. */
export async function detectNode(settings: Settings, ports: DetectPorts): Promise<NodeReport> {
  const kvm = assessKvm(await gatherKvmFacts(ports.fs, ports.kvmProber));
  const tee = await detectTee(ports.fs);
  const gpu = await hasNvidiaGpu(ports.fs);
  const runtime = await detectRuntime(ports.fs, ports.runner, settings, ports.socketVersion);
  const modules = await detectKernelModules(ports.fs, settings);
  return { arch: settings.arch, kvm, tee, shims: assessShims(settings.shims, kvm, tee, gpu), runtime, modules };
}
