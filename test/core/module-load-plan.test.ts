import { describe, expect, it } from 'vitest';
import { kernelModulesFor } from '../../src/core/kernel-modules.js';
import { judgeModules, MODULES_LOAD_UNIT, planModuleStep } from '../../src/core/module-load-plan.js';
import { shimInfos } from '../../src/core/shims.js';

const wanted = kernelModulesFor('x86_64', shimInfos(['qemu']), 'intel');

describe('planModuleStep', () => {
  it.each([
    ['all present', wanted, [], 'systemd', { kind: 'none' }],
    ['none wanted (remote only)', [], ['vhost_vsock'], 'systemd', { kind: 'none' }],
    ['/sys/module unreadable', wanted, undefined, 'systemd', { kind: 'unreadable' }],
    ['--restart none', wanted, ['vhost_vsock'], 'none', { kind: 'report', missing: ['vhost_vsock'] }],
    [
      'missing',
      wanted,
      ['vhost', 'vhost_vsock'],
      'auto',
      { kind: 'load', unit: MODULES_LOAD_UNIT, missing: ['vhost', 'vhost_vsock'] },
    ],
  ] as const)('%s', (_name, modules, missing, restart, expected) => {
    expect(planModuleStep({ wanted: modules, missing }, restart)).toEqual(expected);
  });

  it('restarts the host unit that reads modules-load.d', () => {
    expect(MODULES_LOAD_UNIT).toBe('systemd-modules-load.service');
  });
});

describe('judgeModules', () => {
  const before = { wanted, missing: ['vhost', 'vhost_net', 'vhost_vsock'] };

  it('judges by what the kernel lists, not by the job: the loaded ones, and the optional still missing', () => {
    const verdict = judgeModules(before, new Set(['kvm', 'kvm_intel', 'vhost', 'vhost_vsock']), true, 'job failed');
    expect(verdict).toMatchObject({
      loaded: ['vhost', 'vhost_vsock'],
      stillMissing: ['vhost_net'],
      missingRequired: [],
    });
    expect(verdict.refusal).toBeUndefined();
  });

  it('refuses (exit 3) a node still without vhost_vsock, naming it, modprobe and the kernel option', () => {
    const verdict = judgeModules(before, new Set(['kvm', 'kvm_intel', 'vhost', 'vhost_net']), true, 'restarting x');
    expect(verdict.missingRequired).toEqual(['vhost_vsock']);
    expect(verdict.refusal?.exitCode).toBe(3);
    expect(verdict.refusal?.message).toBe(
      'kernel module(s) vhost_vsock missing after restarting x: no Kata pod can start on this node',
    );
    expect(verdict.refusal?.hint).toContain('modprobe vhost_vsock');
    expect(verdict.refusal?.hint).toContain('CONFIG_VHOST_VSOCK');
    expect(verdict.refusal?.hint).toContain('KATA_REQUIRE_KVM=false');
  });

  it('requires kvm too', () => {
    const verdict = judgeModules(
      { wanted, missing: ['kvm'] },
      new Set(['vhost', 'vhost_net', 'vhost_vsock']),
      true,
      'x',
    );
    expect(verdict.missingRequired).toEqual(['kvm']);
    expect(verdict.refusal?.hint).toContain('CONFIG_KVM');
  });

  it('with KATA_REQUIRE_KVM=false reports the missing required ones without refusing', () => {
    const verdict = judgeModules(before, new Set(['kvm']), false, 'x');
    expect(verdict.missingRequired).toEqual(['vhost_vsock']);
    expect(verdict.refusal).toBeUndefined();
  });

  it('does not require vhost_vsock for shims with their own hybrid vsock', () => {
    const clh = kernelModulesFor('x86_64', shimInfos(['clh']), 'intel');
    const verdict = judgeModules({ wanted: clh, missing: ['vhost_vsock'] }, new Set(['kvm']), true, 'x');
    expect(verdict.refusal).toBeUndefined();
    expect(verdict.stillMissing).toContain('vhost_vsock');
  });
});
