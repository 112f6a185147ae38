import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { assessKvm, gatherKvmFacts, type KvmFacts } from '../../src/detect/kvm.js';
import { ioctlKvmProber, type KvmProbe } from '../../src/detect/kvm-prober.js';
import { applyKvmPolicy } from '../../src/detect/kvm-policy.js';
import { NodeHostFs } from '../../src/host/node-host-fs.js';
import { makeTempRoot, type TempRoot } from '../helpers/temp-root.js';

const KVM_DEVICE: KvmFacts['device'] = { kind: 'char', major: 10, minor: 232 };
const facts = (overrides: Partial<KvmFacts>): KvmFacts => ({
  device: KVM_DEVICE,
  modules: ['kvm', 'kvm_intel'],
  cpuFlags: [],
  probe: { ok: true, apiVersion: 12, vmCreated: true },
  ...overrides,
});

describe('assessKvm', () => {
  it('calls KVM usable when the device is 10:232 and the kernel creates a VM, even without vmx/svm flags', () => {
    const report = assessKvm(facts({ cpuFlags: [] }));
    expect(report).toMatchObject({ present: true, usable: true, reason: undefined });
    expect(report.evidence).toContain('KVM_CREATE_VM succeeded');
  });

  it.each<[string, Partial<KvmFacts>, RegExp, boolean]>([
    ['a missing device', { device: { kind: 'missing' }, probe: undefined }, /does not exist/, false],
    [
      '/dev/null bind-mounted as /dev/kvm',
      { device: { kind: 'char', major: 1, minor: 3 }, probe: undefined },
      /character device 1:3, not the KVM device/,
      false,
    ],
    ['a regular file', { device: { kind: 'other' }, probe: undefined }, /not a character device/, false],
    [
      'a device that refuses ioctls',
      { probe: { ok: false, reason: 'KVM_GET_API_VERSION failed (errno 25)' } },
      /did not answer KVM ioctls/,
      true,
    ],
    ['an unexpected API version', { probe: { ok: true, apiVersion: 11, vmCreated: true } }, /API version 11/, true],
    [
      'a kernel that refuses to create VMs',
      { probe: { ok: true, apiVersion: 12, vmCreated: false, vmErrno: 12 } },
      /KVM_CREATE_VM failed \(errno 12\): the kernel refuses/,
      true,
    ],
  ])('calls KVM unusable with %s', (_name, overrides, reason, present) => {
    const report = assessKvm(facts(overrides));
    expect(report.usable).toBe(false);
    expect(report.present).toBe(present);
    expect(report.reason).toMatch(reason);
  });
});

describe('assessKvm when /dev/kvm cannot be opened (an unprivileged pod)', () => {
  const denied = { ok: false, reason: 'cannot open /dev/kvm: EPERM', openDenied: 'EPERM' } as const;

  it('takes the device node and the kvm module as usable but unproven, saying what the proof needs', () => {
    const report = assessKvm(
      facts({ probe: denied, modules: ['kvm', 'kvm_amd'], moduleParameters: { kvm_amd: { nested: '1', sev: 'N' } } }),
    );
    expect(report).toMatchObject({ present: true, usable: true, proven: false, reason: undefined });
    expect(report.unproven).toMatch(/kvm, kvm_amd are loaded.*device cgroup.*needs a privileged pod or bare metal/);
    expect(report.evidence).toContain('kvm_amd parameters: nested=1, sev=N');
  });

  it('calls it unusable when no kvm module shows that KVM is loaded (a device node alone can be mknod-ed)', () => {
    const report = assessKvm(facts({ probe: denied, modules: [] }));
    expect(report).toMatchObject({ present: true, usable: false, proven: false, unproven: undefined });
    expect(report.reason).toMatch(/\/sys\/module\/kvm is not there/);
  });

  it('still calls a device that opens but refuses ioctls unusable', () => {
    const report = assessKvm(facts({ probe: { ok: false, reason: 'KVM_GET_API_VERSION failed (errno 25)' } }));
    expect(report).toMatchObject({ usable: false, proven: false });
  });
});

describe('applyKvmPolicy', () => {
  const unproven = assessKvm(
    facts({ probe: { ok: false, reason: 'cannot open /dev/kvm: EPERM', openDenied: 'EPERM' } }),
  );
  const proven = assessKvm(facts({}));
  const unusable = assessKvm(facts({ device: { kind: 'missing' }, probe: undefined }));
  const warnings: string[] = [];
  const log = { warn: (_fields: object, message: string) => warnings.push(message) };

  it('installs unproven KVM with a warning by default, and proven KVM silently', () => {
    warnings.length = 0;
    applyKvmPolicy(proven, { requireKvm: true, requireKvmProof: false }, log as never);
    expect(warnings).toEqual([]);
    applyKvmPolicy(unproven, { requireKvm: true, requireKvmProof: false }, log as never);
    expect(warnings).toEqual([unproven.unproven]);
  });

  it('refuses unproven KVM with exit 3 when KATA_REQUIRE_KVM_PROOF=true, and unusable KVM always', () => {
    expect(() => applyKvmPolicy(unproven, { requireKvm: true, requireKvmProof: true }, log as never)).toThrow(
      expect.objectContaining({ exitCode: 3, message: expect.stringMatching(/KVM is not proven/) }),
    );
    expect(() => applyKvmPolicy(proven, { requireKvm: true, requireKvmProof: true }, log as never)).not.toThrow();
    expect(() => applyKvmPolicy(unusable, { requireKvm: true, requireKvmProof: false }, log as never)).toThrow(
      expect.objectContaining({ exitCode: 3 }),
    );
  });

  it('checks nothing with KATA_REQUIRE_KVM=false', () => {
    expect(() => applyKvmPolicy(unusable, { requireKvm: false, requireKvmProof: true }, log as never)).not.toThrow();
  });
});

let temp: TempRoot | undefined;
afterEach(async () => {
  await temp?.cleanup();
  temp = undefined;
});

function mknod(root: string, major: number, minor: number): void {
  execFileSync('mknod', [path.join(root, 'dev/kvm'), 'c', String(major), String(minor)]);
}

describe('gatherKvmFacts over a host root', () => {
  const isRoot = process.getuid?.() === 0;

  it('finds no KVM in a host root without /dev/kvm, and says why', async () => {
    temp = await makeTempRoot({ '/proc/cpuinfo': 'processor\t: 0\nflags\t\t: fpu vme sse2\n' });
    const report = assessKvm(await gatherKvmFacts(new NodeHostFs(temp.root), ioctlKvmProber));
    expect(report).toMatchObject({ present: false, usable: false });
    expect(report.reason).toMatch(/\/dev\/kvm does not exist/);
  });

  it('reads modules and vmx/svm flags as evidence only', async () => {
    temp = await makeTempRoot({
      '/proc/cpuinfo': 'flags\t\t: fpu vmx sse2\n',
      '/sys/module/kvm_intel/parameters/nested': 'Y\n',
      '/dev/kvm': 'not a device',
    });
    const found = await gatherKvmFacts(new NodeHostFs(temp.root), ioctlKvmProber);
    expect(found.modules).toEqual(['kvm_intel']);
    expect(found.cpuFlags).toEqual(['vmx']);
    expect(assessKvm(found).usable).toBe(false);
  });

  it.skipIf(!isRoot || !existsSync('/dev/kvm'))('proves a real KVM device node with ioctls', async () => {
    temp = await makeTempRoot({ '/dev': { dir: true } });
    mknod(temp.root, 10, 232);
    const report = assessKvm(await gatherKvmFacts(new NodeHostFs(temp.root), ioctlKvmProber));
    expect(report.usable).toBe(true);
    expect(report.evidence).toContain('KVM_GET_API_VERSION = 12');
  });

  it.skipIf(!isRoot || !existsSync('/dev/kvm'))('asks again when a signal interrupts KVM_CREATE_VM', async () => {
    // V8's sampling profiler signals the thread every 10 µs: about one KVM_CREATE_VM in ten then fails with EINTR.
    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 10 });
    await session.post('Profiler.start');
    const probes: KvmProbe[] = [];
    try {
      for (let round = 0; round < 100; round += 1) probes.push(await ioctlKvmProber.probe('/dev/kvm'));
    } finally {
      await session.post('Profiler.stop');
      session.disconnect();
    }
    expect(probes.filter((probe) => !probe.ok || !probe.vmCreated)).toEqual([]);
  });

  it.skipIf(!isRoot)('does not mistake /dev/null for KVM', async () => {
    temp = await makeTempRoot({ '/dev': { dir: true } });
    mknod(temp.root, 1, 3);
    const report = assessKvm(await gatherKvmFacts(new NodeHostFs(temp.root), ioctlKvmProber));
    expect(report.usable).toBe(false);
    expect(report.reason).toMatch(/1:3/);
  });

  it('reports a /dev/kvm symlink loop as unusable KVM, not as a usage error', async () => {
    temp = await makeTempRoot({ '/dev/kvm': { symlink: 'kvm2' }, '/dev/kvm2': { symlink: 'kvm' } });
    const report = assessKvm(await gatherKvmFacts(new NodeHostFs(temp.root), ioctlKvmProber));
    expect(report.usable).toBe(false);
    expect(report.reason).toMatch(/\/dev\/kvm cannot be resolved: too many symlinks/);
  });

  it('has the ioctl prober refuse a device that is not KVM', async () => {
    const probe = await ioctlKvmProber.probe('/dev/null');
    expect(probe.ok).toBe(false);
  });
});
