import { describe, expect, it } from 'vitest';
import { customHandlers } from '../../src/core/custom-handlers.js';
import { handlersFor } from '../../src/core/handlers.js';
import type { KataDeployError } from '../../src/core/errors.js';
import { SHIM_CATALOGUE } from '../../src/core/shims.js';
import { guestSizeWithOverrides } from '../../src/kube/overhead.js';
import { desiredRuntimeClasses } from '../../src/kube/runtime-classes.js';
import { planKataConfigFiles } from '../../src/payload/index.js';
import { parseSettings } from '../../src/settings/parse-settings.js';
import type { Arch } from '../../src/core/arch.js';
// @ts-expect-error plain ESM script without types
import { renderSampleConfig } from '../../scripts/sample-kata-config.mjs';

const LIST = [
  'kata-qemu-big:qemu:::amd64,arm64',
  'kata-gpu-snp:qemu-nvidia-gpu-snp:nydus:guest-pull:amd64',
  'kata-s390-only:qemu::: s390x',
  '',
  'kata-any:qemu-runtime-rs::',
].join('\n');
const DROP_IN = '[hypervisor.qemu]\ndefault_memory = 8192\ndefault_vcpus = 4\n';

function parse(
  env: Record<string, string>,
  list = LIST,
  dropIns = new Map([['kata-qemu-big', DROP_IN]]),
  arch: Arch = 'x86_64',
) {
  return parseSettings({
    env: { SHIMS_X86_64: 'qemu clh', CUSTOM_RUNTIMES_ENABLED: 'true', ...env },
    flags: {},
    arch,
    readCustomConfigs: () => ({ list, dropIns }),
  });
}

function refusal(list: string, dropIns = new Map<string, string>()): KataDeployError {
  try {
    parse({}, list, dropIns);
  } catch (error) {
    expect((error as KataDeployError).exitCode).toBe(2);
    return error as KataDeployError;
  }
  throw new Error('expected a refusal');
}

describe('CUSTOM_RUNTIMES_ENABLED and custom-runtimes.list (upstream format, 5th field = arches)', () => {
  it('reads every line for this arch, with snapshotter, pull type and drop-in', () => {
    const runtimes = parse({}).upstream.customRuntimes;
    expect(runtimes.map((runtime) => runtime.handler)).toEqual(['kata-qemu-big', 'kata-gpu-snp', 'kata-any']);
    expect(runtimes[1]).toMatchObject({
      baseShim: 'qemu-nvidia-gpu-snp',
      snapshotter: 'nydus',
      crioPullType: 'guest-pull',
    });
    expect(runtimes[0]!.dropIn).toBe(DROP_IN);
  });

  it('filters by arch as upstream: amd64,arm64 is x86_64 and aarch64, not s390x; empty is every arch', () => {
    const s390 = parseSettings({
      env: { SHIMS_S390X: 'qemu', CUSTOM_RUNTIMES_ENABLED: 'true' },
      flags: {},
      arch: 's390x',
      readCustomConfigs: () => ({ list: LIST.replace(/^kata-gpu-snp.*$/m, ''), dropIns: new Map() }),
    });
    expect(s390.upstream.customRuntimes.map((runtime) => runtime.handler)).toEqual(['kata-s390-only', 'kata-any']);
  });

  it('adds nothing when CUSTOM_RUNTIMES_ENABLED is false, and says so when the list is missing', () => {
    expect(parse({ CUSTOM_RUNTIMES_ENABLED: 'false' }).upstream.customRuntimes).toEqual([]);
    const missing = parseSettings({
      env: { CUSTOM_RUNTIMES_ENABLED: 'true' },
      flags: {},
      arch: 'x86_64',
      readCustomConfigs: () => undefined,
    });
    expect(missing.upstream.notices.join('\n')).toContain('custom-runtimes.list is absent');
  });

  it.each([
    ['Bad_Name:qemu::', 'is not a handler name'],
    ['kata-x:no-such-shim::', 'base config "no-such-shim" has no shim on x86_64'],
    ['kata-x:qemu-se::', 'base config "qemu-se" has no shim on x86_64'],
    ['kata-x:qemu::\nkata-x:clh::', 'handler "kata-x" is defined twice'],
    ['kata-qemu:qemu::', 'handler "kata-qemu" is defined twice'],
    ['kata-x:qemu::node-pull', 'unknown pull type "node-pull"'],
    ['kata-x:qemu:::amd65', 'unknown arch "amd65"'],
  ])('refuses %j naming the line', (list, problem) => {
    const error = refusal(list);
    expect(error.message).toContain('/custom-configs/custom-runtimes.list line');
    expect(error.message).toContain(problem);
  });

  it('refuses a drop-in that is not TOML, naming its file', () => {
    expect(refusal('kata-x:qemu::', new Map([['kata-x', '[hypervisor.qemu\n']])).message).toContain(
      '/custom-configs/dropin-kata-x.toml',
    );
  });
});

describe('a custom runtime on the node and in the cluster', () => {
  const settings = parse({ CREATE_RUNTIMECLASSES: 'true', RUNTIMECLASS_OVERHEAD_X86_64: 'kata-any:cpu=900m' });
  const customs = customHandlers(settings.installDir, settings.upstream.customRuntimes, settings.multiInstallSuffix);

  it("gets its own handler on its base shim's binary, config under custom-runtimes/<handler>/", () => {
    expect(customs[0]).toMatchObject({
      name: 'kata-qemu-big',
      runtimePath: '/opt/kata/bin/containerd-shim-kata-v2',
      configPath: '/opt/kata/share/defaults/kata-containers/custom-runtimes/kata-qemu-big/configuration-qemu.toml',
    });
    expect(customs[1]!.snapshotter).toBe('nydus-for-kata-tee');
    expect(customs[2]!.runtimePath).toBe('/opt/kata/runtime-rs/bin/containerd-shim-kata-v2');
  });

  it('gets a copy of the pristine config and the operator drop-in as config.d/50-overrides.toml', () => {
    const pristine = (shim: string) => Buffer.from(renderSampleConfig(SHIM_CATALOGUE.get(shim), 'x86_64') as string);
    const changes = planKataConfigFiles([...handlersFor(settings), ...customs], settings, pristine, () => undefined);
    const dir = '/opt/kata/share/defaults/kata-containers/custom-runtimes/kata-qemu-big';
    expect(changes.find((change) => change.path === `${dir}/configuration-qemu.toml`)?.after).toEqual(pristine('qemu'));
    expect(changes.find((change) => change.path === `${dir}/config.d/50-overrides.toml`)?.after?.toString()).toBe(
      DROP_IN,
    );
  });

  it('gets a RuntimeClass whose PodOverhead follows its own drop-in, and the override replaces only given keys', () => {
    const base = renderSampleConfig(SHIM_CATALOGUE.get('qemu'), 'x86_64') as string;
    const guests = new Map([
      ['qemu', guestSizeWithOverrides(base, undefined, 'qemu')],
      ['clh', guestSizeWithOverrides(base, undefined, 'clh')],
      ['kata-qemu-big', guestSizeWithOverrides(base, DROP_IN, 'kata-qemu-big')],
      ['kata-gpu-snp', guestSizeWithOverrides(base, undefined, 'kata-gpu-snp')],
      ['kata-any', guestSizeWithOverrides(base, undefined, 'kata-any')],
    ]);
    const classes = desiredRuntimeClasses(settings, guests);
    const byName = new Map(classes.map((rc) => [rc.metadata!.name!, rc]));
    expect(byName.get('kata-qemu-big')?.overhead?.podFixed).toEqual({
      memory: `${8192 + 160}Mi`,
      cpu: `${4000 + 250}m`,
    });
    expect(byName.get('kata-qemu')?.overhead?.podFixed).toEqual({ memory: `${2048 + 160}Mi`, cpu: '1250m' });
    expect(byName.get('kata-any')?.overhead?.podFixed).toEqual({ memory: `${2048 + 160}Mi`, cpu: '900m' });
    expect(byName.get('kata-any')?.handler).toBe('kata-any');
  });

  it('refuses a malformed RUNTIMECLASS_OVERHEAD entry, naming the variable', () => {
    expect(() => parse({ RUNTIMECLASS_OVERHEAD_X86_64: 'kata-qemu:disk=1Gi' })).toThrow(/RUNTIMECLASS_OVERHEAD_X86_64/);
    expect(() => parse({ RUNTIMECLASS_OVERHEAD_X86_64: 'kata-qemu' })).toThrow(/RUNTIMECLASS_OVERHEAD_X86_64/);
  });
});
