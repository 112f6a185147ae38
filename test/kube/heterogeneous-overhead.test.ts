import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/host/logger.js';
import { ensureRuntimeClasses } from '../../src/kube/ensure-runtime-classes.js';
import { largestOverhead, quantityValue } from '../../src/kube/overhead-merge.js';
import { desiredRuntimeClasses, type RuntimeClassSettings } from '../../src/kube/runtime-classes.js';
import { startFakeKube, type FakeKubeSetup } from '../helpers/fake-kube-setup.js';

describe('quantities', () => {
  const cases: [string, number | undefined][] = [
    ['2208Mi', 2208 * 2 ** 20],
    ['1.5Gi', 1.5 * 2 ** 30],
    ['1250m', 1.25],
    ['2', 2],
    ['1e3', 1000],
    ['3k', 3000],
    ['.5', 0.5],
    ['12 parsecs', undefined],
    ['Mi', undefined],
  ];
  for (const [quantity, value] of cases)
    it(`${quantity} → ${value}`, () => expect(quantityValue(quantity)).toBe(value));
});

describe('largestOverhead', () => {
  it('keeps the larger value per resource, in whichever form the cluster has it', () => {
    expect(
      largestOverhead({ podFixed: { memory: '4Gi', cpu: '1250m' } }, { podFixed: { memory: '2208Mi', cpu: '2250m' } }),
    ).toEqual({ podFixed: { memory: '4Gi', cpu: '2250m' } });
  });
  it('replaces what cannot be compared, and adds what is missing', () => {
    expect(largestOverhead({ podFixed: { memory: 'lots' } }, { podFixed: { memory: '1Mi', cpu: '1' } })).toEqual({
      podFixed: { memory: '1Mi', cpu: '1' },
    });
  });
});

describe('two nodes of different sizes share the RuntimeClasses', () => {
  let setup: FakeKubeSetup;
  beforeEach(async () => {
    setup = await startFakeKube();
  });
  afterEach(async () => setup.cleanup());

  const settings: RuntimeClassSettings = {
    shims: ['qemu'],
    defaultShim: 'qemu',
    multiInstallSuffix: undefined,
    createRuntimeClasses: true,
    createDefaultRuntimeClass: false,
  };
  const small = desiredRuntimeClasses(settings, new Map([['qemu', { memoryMiB: 2048, vcpus: 1 }]]));
  const large = desiredRuntimeClasses(settings, new Map([['qemu', { memoryMiB: 8192, vcpus: 4 }]]));
  const writes = () => setup.api.requests.filter((r) => r.method === 'POST' || r.method === 'PUT').length;
  const ensure = async (desired: typeof small) => {
    const before = writes();
    await ensureRuntimeClasses(setup.access.kube, desired, undefined, silentLogger(), setup.clock);
    return writes() - before;
  };

  it('small node first: each writes once, then neither writes again however often they converge', async () => {
    expect(await ensure(small)).toBe(1);
    expect(await ensure(large)).toBe(1);
    for (let round = 0; round < 3; round += 1) {
      expect(await ensure(small)).toBe(0);
      expect(await ensure(large)).toBe(0);
    }
    expect(setup.api.runtimeClasses.get('kata-qemu')!.overhead).toEqual({
      podFixed: { memory: '8352Mi', cpu: '4250m' },
    });
  });

  it('large node first: the small one never writes', async () => {
    expect(await ensure(large)).toBe(1);
    expect(await ensure(small)).toBe(0);
    expect(await ensure(large)).toBe(0);
    expect(setup.api.runtimeClasses.get('kata-qemu')!.overhead.podFixed.memory).toBe('8352Mi');
  });
});
