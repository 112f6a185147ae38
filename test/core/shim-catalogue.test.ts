import { describe, expect, it } from 'vitest';
import { ARCHES } from '../../src/core/arch.js';
import { KataDeployError } from '../../src/core/errors.js';
import {
  CHART_DEFAULT_SHIMS_X86_64,
  DEFAULT_SHIMS,
  SHIM_CATALOGUE,
  shimBinaryRelPath,
  shimConfigRelPath,
  shimInfos,
} from '../../src/core/shims.js';
import { parseSettings } from '../../src/settings/parse-settings.js';
import type { Arch } from '../../src/core/arch.js';

function info(name: string) {
  return shimInfos([name])[0]!;
}

describe('the 4.2 shim catalogue', () => {
  it.each([
    ['clh-azure', 'share/defaults/kata-containers/configuration-clh-azure.toml', 'bin/containerd-shim-kata-v2'],
    [
      'clh-azure-runtime-rs',
      'share/defaults/kata-containers/runtime-rs/configuration-clh-azure-runtime-rs.toml',
      'runtime-rs/bin/containerd-shim-kata-v2',
    ],
    [
      'openvmm-azure-runtime-rs',
      'share/defaults/kata-containers/runtime-rs/configuration-openvmm-azure-runtime-rs.toml',
      'runtime-rs/bin/containerd-shim-kata-v2',
    ],
    [
      'firecracker',
      'share/defaults/kata-containers/runtime-rs/configuration-rs-fc.toml',
      'runtime-rs/bin/containerd-shim-kata-v2',
    ],
    ['fc', 'share/defaults/kata-containers/configuration-fc.toml', 'bin/containerd-shim-kata-v2'],
    ['remote', 'share/defaults/kata-containers/configuration-remote.toml', 'bin/containerd-shim-kata-v2'],
    [
      'dragonball',
      'share/defaults/kata-containers/runtime-rs/configuration-dragonball.toml',
      'runtime-rs/bin/containerd-shim-kata-v2',
    ],
  ])('%s reads %s and runs %s', (shim, config, binary) => {
    expect(shimConfigRelPath(info(shim))).toBe(config);
    expect(shimBinaryRelPath(info(shim))).toBe(binary);
  });

  it('carries every shim upstream 4.2 ships', () => {
    const shipped = [
      'qemu',
      'qemu-runtime-rs',
      'qemu-coco-dev',
      'qemu-coco-dev-runtime-rs',
      'qemu-tdx',
      'qemu-tdx-runtime-rs',
      'qemu-snp',
      'qemu-snp-runtime-rs',
      'qemu-se',
      'qemu-se-runtime-rs',
      'qemu-nvidia-gpu',
      'qemu-nvidia-gpu-runtime-rs',
      'qemu-nvidia-cpu',
      'qemu-nvidia-cpu-runtime-rs',
      'qemu-nvidia-gpu-snp',
      'qemu-nvidia-gpu-snp-runtime-rs',
      'qemu-nvidia-gpu-tdx',
      'qemu-nvidia-gpu-tdx-runtime-rs',
      'clh',
      'clh-azure',
      'clh-runtime-rs',
      'clh-azure-runtime-rs',
      'dragonball',
      'fc',
      'firecracker',
      'openvmm-azure-runtime-rs',
      'remote',
      'stratovirt',
    ];
    expect(shipped.filter((name) => !SHIM_CATALOGUE.has(name))).toEqual([]);
  });

  it('has every built-in default shim available on its own arch', () => {
    for (const arch of ARCHES) {
      const offArch = DEFAULT_SHIMS[arch].filter((name) => !info(name).arches.includes(arch));
      expect(offArch, arch).toEqual([]);
    }
  });
});

function settingsFor(env: Record<string, string>, arch: Arch) {
  return parseSettings({ env, flags: {}, arch });
}

function refusal(env: Record<string, string>, arch: Arch): KataDeployError {
  try {
    settingsFor(env, arch);
  } catch (error) {
    expect(error).toBeInstanceOf(KataDeployError);
    return error as KataDeployError;
  }
  throw new Error('expected a refusal');
}

describe('shim selection per arch, as upstream', () => {
  it("accepts the chart's default amd64 set with qemu-runtime-rs as the default shim", () => {
    const settings = settingsFor(
      { SHIMS_X86_64: CHART_DEFAULT_SHIMS_X86_64.join(' '), DEFAULT_SHIM_X86_64: 'qemu-runtime-rs' },
      'x86_64',
    );
    expect(settings.shims).toEqual(CHART_DEFAULT_SHIMS_X86_64);
    expect(settings.defaultShim).toBe('qemu-runtime-rs');
  });

  it.each([
    ['clh-azure', 'aarch64', 'SHIMS_AARCH64'],
    ['openvmm-azure-runtime-rs', 's390x', 'SHIMS_S390X'],
    ['remote', 'aarch64', 'SHIMS_AARCH64'],
    ['qemu-tdx', 'ppc64le', 'SHIMS_PPC64LE'],
    ['qemu-se', 'x86_64', 'SHIMS_X86_64'],
  ] as const)('refuses %s on %s by name, naming %s', (shim, arch, variable) => {
    const error = refusal({ [variable]: `qemu ${shim}` }, arch);
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain(variable);
    expect(error.message).toContain(`"${shim}" does not exist for ${arch}`);
  });

  it.each([
    ['remote', 's390x'],
    ['remote', 'ppc64le'],
    ['qemu-runtime-rs', 'ppc64le'],
    ['firecracker', 'aarch64'],
  ] as const)('accepts %s on %s', (shim, arch) => {
    const suffix = arch.toUpperCase();
    expect(settingsFor({ [`SHIMS_${suffix}`]: shim }, arch).shims).toEqual([shim]);
  });

  it('treats an empty arch-suffixed variable as unset, as upstream does', () => {
    const settings = settingsFor({ SHIMS_X86_64: '', DEFAULT_SHIM_X86_64: '  ' }, 'x86_64');
    expect(settings.shims).toEqual(DEFAULT_SHIMS.x86_64);
    expect(settings.defaultShim).toBe('qemu-runtime-rs');
  });
});
