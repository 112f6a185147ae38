import type { Arch } from './arch.js';

/** Which Kata runtime implementation a shim uses: the Go runtime or the Rust runtime-rs. */
export type ShimRuntime = 'go' | 'rs';

/** The virtual machine monitor a shim starts; decides the PodOverhead constant and KVM needs. */
export type Hypervisor = 'qemu' | 'clh' | 'fc' | 'dragonball' | 'stratovirt' | 'openvmm' | 'remote';

/** The trusted-execution technology a confidential shim needs from the host CPU. */
export type Tee = 'tdx' | 'snp' | 'se' | 'cca';

/** What we know about one shim without looking at a payload. */
export interface ShimInfo {
  readonly name: string;
  readonly runtime: ShimRuntime;
  readonly hypervisor: Hypervisor;
  readonly tee: Tee | undefined;
  readonly gpu: boolean;
  readonly arches: readonly Arch[];
  /** File name of its pristine configuration (`configuration-<shim>.toml`, except `configuration-rs-fc.toml`). */
  readonly configFile: string;
}

const ALL: readonly Arch[] = ['x86_64', 'aarch64', 'ppc64le', 's390x'];
const X86: readonly Arch[] = ['x86_64'];
const X86_ARM: readonly Arch[] = ['x86_64', 'aarch64'];
const X86_S390: readonly Arch[] = ['x86_64', 's390x'];

function shim(
  name: string,
  runtime: ShimRuntime,
  hypervisor: Hypervisor,
  arches: readonly Arch[],
  extra: { tee?: Tee; gpu?: boolean; configFile?: string } = {},
): ShimInfo {
  const configFile = extra.configFile ?? `configuration-${name}.toml`;
  return Object.freeze({ name, runtime, hypervisor, arches, tee: extra.tee, gpu: extra.gpu ?? false, configFile });
}

/**
 * Every shim a kata-static 3.x/4.x release can carry (4.2's full set, plus `qemu-cca` and the older
 * `cloud-hypervisor` name), keyed by the name used in SHIMS_<ARCH>. Kept in one place so settings
 * validation, payload selection and RuntimeClass overhead agree on the same facts. The arches are the
 * chart's `supportedArches` widened by upstream's built-in per-arch lists (which offer clh, dragonball, fc
 * and qemu-nvidia-gpu on aarch64 too): a shim outside them is refused by name.
 */
export const SHIM_CATALOGUE: ReadonlyMap<string, ShimInfo> = new Map(
  [
    shim('qemu', 'go', 'qemu', ALL),
    shim('qemu-runtime-rs', 'rs', 'qemu', ALL),
    shim('qemu-coco-dev', 'go', 'qemu', X86_S390),
    shim('qemu-coco-dev-runtime-rs', 'rs', 'qemu', ['x86_64', 'aarch64', 's390x']),
    shim('qemu-tdx', 'go', 'qemu', X86, { tee: 'tdx' }),
    shim('qemu-tdx-runtime-rs', 'rs', 'qemu', X86, { tee: 'tdx' }),
    shim('qemu-snp', 'go', 'qemu', X86, { tee: 'snp' }),
    shim('qemu-snp-runtime-rs', 'rs', 'qemu', X86, { tee: 'snp' }),
    shim('qemu-se', 'go', 'qemu', ['s390x'], { tee: 'se' }),
    shim('qemu-se-runtime-rs', 'rs', 'qemu', ['s390x'], { tee: 'se' }),
    shim('qemu-cca', 'go', 'qemu', ['aarch64'], { tee: 'cca' }),
    shim('qemu-nvidia-cpu', 'go', 'qemu', X86_ARM),
    shim('qemu-nvidia-cpu-runtime-rs', 'rs', 'qemu', X86_ARM),
    shim('qemu-nvidia-gpu', 'go', 'qemu', X86_ARM, { gpu: true }),
    shim('qemu-nvidia-gpu-runtime-rs', 'rs', 'qemu', X86_ARM, { gpu: true }),
    shim('qemu-nvidia-gpu-snp', 'go', 'qemu', X86, { tee: 'snp', gpu: true }),
    shim('qemu-nvidia-gpu-snp-runtime-rs', 'rs', 'qemu', X86, { tee: 'snp', gpu: true }),
    shim('qemu-nvidia-gpu-tdx', 'go', 'qemu', X86, { tee: 'tdx', gpu: true }),
    shim('qemu-nvidia-gpu-tdx-runtime-rs', 'rs', 'qemu', X86, { tee: 'tdx', gpu: true }),
    shim('clh', 'go', 'clh', X86_ARM),
    shim('clh-runtime-rs', 'rs', 'clh', X86_ARM),
    shim('clh-azure', 'go', 'clh', X86),
    shim('clh-azure-runtime-rs', 'rs', 'clh', X86),
    shim('openvmm-azure-runtime-rs', 'rs', 'openvmm', X86),
    shim('cloud-hypervisor', 'rs', 'clh', X86_ARM),
    shim('dragonball', 'rs', 'dragonball', X86_ARM),
    shim('fc', 'go', 'fc', X86_ARM),
    shim('firecracker', 'rs', 'fc', X86_ARM, { configFile: 'configuration-rs-fc.toml' }),
    shim('remote', 'go', 'remote', ['x86_64', 'ppc64le', 's390x']),
    shim('stratovirt', 'go', 'stratovirt', X86_ARM),
  ].map((info) => [info.name, info] as const),
);

/**
 * Upstream kata-deploy's built-in per-arch SHIMS list, used when SHIMS_<ARCH> is unset (the chart always
 * sets it; see CHART_DEFAULT_SHIMS_X86_64). ppc64le gets the two QEMU shims Kata builds there.
 */
export const DEFAULT_SHIMS: Readonly<Record<Arch, readonly string[]>> = Object.freeze({
  x86_64: [
    'clh',
    'clh-runtime-rs',
    'dragonball',
    'fc',
    'qemu',
    'qemu-coco-dev',
    'qemu-coco-dev-runtime-rs',
    'qemu-runtime-rs',
    'qemu-nvidia-cpu',
    'qemu-nvidia-cpu-runtime-rs',
    'qemu-nvidia-gpu',
    'qemu-nvidia-gpu-runtime-rs',
    'qemu-nvidia-gpu-snp',
    'qemu-nvidia-gpu-snp-runtime-rs',
    'qemu-nvidia-gpu-tdx',
    'qemu-nvidia-gpu-tdx-runtime-rs',
    'qemu-snp',
    'qemu-snp-runtime-rs',
    'qemu-tdx',
    'qemu-tdx-runtime-rs',
  ],
  aarch64: [
    'clh',
    'clh-runtime-rs',
    'dragonball',
    'fc',
    'qemu',
    'qemu-coco-dev-runtime-rs',
    'qemu-runtime-rs',
    'qemu-nvidia-cpu',
    'qemu-nvidia-cpu-runtime-rs',
    'qemu-nvidia-gpu',
  ],
  s390x: ['qemu', 'qemu-runtime-rs', 'qemu-se', 'qemu-se-runtime-rs', 'qemu-coco-dev', 'qemu-coco-dev-runtime-rs'],
  ppc64le: ['qemu', 'qemu-runtime-rs'],
});

/** What upstream 4.2's chart passes as SHIMS_X86_64 by default (the TEE, GPU, fc and remote ones come from
 * its try-kata-*.values.yaml files). */
export const CHART_DEFAULT_SHIMS_X86_64: readonly string[] = Object.freeze([
  'clh',
  'clh-azure',
  'clh-runtime-rs',
  'clh-azure-runtime-rs',
  'dragonball',
  'qemu',
  'qemu-runtime-rs',
  'openvmm-azure-runtime-rs',
]);

/** The shim behind the plain `kata` RuntimeClass when DEFAULT_SHIM_<ARCH> is unset: runtime-rs since 4.0. */
export const DEFAULT_SHIM: Readonly<Record<Arch, string>> = Object.freeze({
  x86_64: 'qemu-runtime-rs',
  aarch64: 'qemu-runtime-rs',
  s390x: 'qemu-runtime-rs',
  ppc64le: 'qemu-runtime-rs',
});

/** Directory of a shim's pristine Kata configuration relative to the install dir: runtime-rs has its own. */
export function shimConfigDirRel(info: ShimInfo): string {
  return info.runtime === 'rs' ? 'share/defaults/kata-containers/runtime-rs' : 'share/defaults/kata-containers';
}

/** Path of a shim's pristine Kata configuration, relative to the install dir (e.g. `/opt/kata`). */
export function shimConfigRelPath(info: ShimInfo): string {
  return `${shimConfigDirRel(info)}/${info.configFile}`;
}

/** Path of the containerd shim binary a shim runs, relative to the install dir. */
export function shimBinaryRelPath(info: ShimInfo): string {
  return info.runtime === 'rs' ? 'runtime-rs/bin/containerd-shim-kata-v2' : 'bin/containerd-shim-kata-v2';
}

/** The catalogue entries of shim names that settings already validated (a miss is a bug, not input). */
export function shimInfos(names: readonly string[]): ShimInfo[] {
  return names.map((name) => {
    const info = SHIM_CATALOGUE.get(name);
    if (info === undefined) throw new Error(`shim ${name} missing from the catalogue`);
    return info;
  });
}
