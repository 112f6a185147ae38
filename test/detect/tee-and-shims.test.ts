import { afterEach, describe, expect, it } from 'vitest';
import { detectTee } from '../../src/detect/tee.js';
import { assessShims } from '../../src/detect/shim-support.js';
import { hasNvidiaGpu } from '../../src/detect/pci.js';
import type { KvmReport } from '../../src/detect/kvm.js';
import { NodeHostFs } from '../../src/host/node-host-fs.js';
import { makeTempRoot, type TempRoot, type TreeSpec } from '../helpers/temp-root.js';

let temp: TempRoot | undefined;
afterEach(async () => {
  await temp?.cleanup();
  temp = undefined;
});

async function root(tree: TreeSpec): Promise<NodeHostFs> {
  temp = await makeTempRoot(tree);
  return new NodeHostFs(temp.root);
}

const usableKvm: KvmReport = {
  present: true,
  usable: true,
  proven: true,
  evidence: [],
  reason: undefined,
  unproven: undefined,
};
const noKvm: KvmReport = {
  present: false,
  usable: false,
  proven: false,
  evidence: [],
  reason: '/dev/kvm does not exist',
  unproven: undefined,
};

describe('detectTee', () => {
  it('reads TDX, SEV-SNP and Secure Execution from the kernel parameters', async () => {
    const tee = await detectTee(
      await root({
        '/sys/module/kvm_intel/parameters/tdx': 'Y\n',
        '/sys/module/kvm_amd/parameters/sev_snp': 'N\n',
        '/sys/firmware/uv/prot_virt_host': '1\n',
      }),
    );
    expect(tee.available).toEqual({ tdx: true, snp: false, se: true, cca: false });
    expect(tee.evidence).toContain('/sys/module/kvm_amd/parameters/sev_snp = N');
  });

  it('says so when the kernel exposes no TEE at all', async () => {
    const tee = await detectTee(await root({}));
    expect(Object.values(tee.available).some(Boolean)).toBe(false);
    expect(tee.evidence).toEqual(['no TEE parameters exposed by the kernel']);
  });
});

describe('assessShims', () => {
  const noTee = { available: { tdx: false, snp: false, se: false, cca: false }, evidence: [] };

  it('lets every plain shim run where KVM is usable', () => {
    expect(assessShims(['qemu', 'fc', 'clh-runtime-rs'], usableKvm, noTee, false).every((shim) => shim.runnable)).toBe(
      true,
    );
  });

  it('explains that no shim runs without KVM', () => {
    const [qemu] = assessShims(['qemu'], noKvm, noTee, false);
    expect(qemu).toEqual({ shim: 'qemu', runnable: false, reason: 'needs KVM: /dev/kvm does not exist' });
  });

  it('names the missing TEE for confidential shims and the missing GPU for GPU shims', () => {
    const result = assessShims(
      ['qemu-tdx', 'qemu-snp', 'qemu-nvidia-gpu'],
      usableKvm,
      { ...noTee, available: { ...noTee.available, tdx: true } },
      false,
    );
    expect(result.map((shim) => [shim.shim, shim.runnable])).toEqual([
      ['qemu-tdx', true],
      ['qemu-snp', false],
      ['qemu-nvidia-gpu', false],
    ]);
    expect(result[1]!.reason).toMatch(/AMD SEV-SNP/);
    expect(result[2]!.reason).toMatch(/NVIDIA GPU/);
  });
});

describe('hasNvidiaGpu', () => {
  it('finds an NVIDIA device by PCI vendor id', async () => {
    expect(
      await hasNvidiaGpu(
        await root({
          '/sys/bus/pci/devices/0000:00:01.0/vendor': '0x8086\n',
          '/sys/bus/pci/devices/0000:3b:00.0/vendor': '0x10de\n',
        }),
      ),
    ).toBe(true);
  });

  it('finds none on a bus without one', async () => {
    expect(await hasNvidiaGpu(await root({ '/sys/bus/pci/devices/0000:00:01.0/vendor': '0x8086\n' }))).toBe(false);
  });
});
