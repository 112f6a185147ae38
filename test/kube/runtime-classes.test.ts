import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/host/logger.js';
import { ensureRuntimeClasses, readGuestSizes } from '../../src/kube/ensure-runtime-classes.js';
import { guestSizeFromConfig, podFixedFor } from '../../src/kube/overhead.js';
import {
  desiredRuntimeClasses,
  decideRuntimeClass,
  type RuntimeClassSettings,
} from '../../src/kube/runtime-classes.js';
import { NodeHostFs } from '../../src/host/node-host-fs.js';
import { startFakeKube, type FakeKubeSetup } from '../helpers/fake-kube-setup.js';
import { makeTempRoot } from '../helpers/temp-root.js';

const QEMU_CONFIG = `# Kata qemu
[hypervisor.qemu]
path = "/opt/kata/bin/qemu-system-x86_64"
# comment
default_vcpus = 1
default_memory = 2048

[runtime]
sandbox_cgroup_only = true
`;
const CLH_CONFIG = `[hypervisor.clh]\ndefault_vcpus = 2\ndefault_memory = 512\n`;
const sizes = new Map([
  ['qemu', guestSizeFromConfig(QEMU_CONFIG, 'q')],
  ['clh', guestSizeFromConfig(CLH_CONFIG, 'c')],
]);
const settings: RuntimeClassSettings = {
  shims: ['qemu', 'clh'],
  defaultShim: 'qemu',
  multiInstallSuffix: undefined,
  createRuntimeClasses: true,
  createDefaultRuntimeClass: true,
};

describe('PodOverhead from the shim config', () => {
  it('reads default_memory and default_vcpus from the hypervisor table and adds the hypervisor constant', () => {
    expect(podFixedFor(guestSizeFromConfig(QEMU_CONFIG, 'q'), 'qemu')).toEqual({ memory: '2208Mi', cpu: '1250m' });
    expect(podFixedFor(guestSizeFromConfig(CLH_CONFIG, 'c'), 'clh')).toEqual({ memory: '642Mi', cpu: '2250m' });
  });

  it('falls back to Kata defaults for values a config leaves out and accepts fractional vCPUs', () => {
    expect(guestSizeFromConfig('[hypervisor.dragonball]\ndefault_vcpus = 0.5\n', 'd')).toEqual({
      memoryMiB: 2048,
      vcpus: 0.5,
    });
  });

  it('refuses a config without a hypervisor table, naming the file', () => {
    expect(() => guestSizeFromConfig('[runtime]\n', '/opt/kata/x.toml')).toThrow(
      /\/opt\/kata\/x.toml has no \[hypervisor/,
    );
  });

  it('reads the sizes from the per-handler config copy on the host', async () => {
    const root = await makeTempRoot({
      '/opt/kata/share/defaults/kata-containers/runtimes/qemu/configuration-qemu.toml': QEMU_CONFIG,
      '/opt/kata/share/defaults/kata-containers/configuration-clh.toml': CLH_CONFIG,
    });
    try {
      const read = await readGuestSizes(new NodeHostFs(root.root), {
        shims: ['qemu', 'clh'],
        multiInstallSuffix: undefined,
        debug: true,
        installDir: '/opt/kata',
        snapshotterHandlerMapping: new Map(),
      });
      expect(read).toEqual(sizes);
    } finally {
      await root.cleanup();
    }
  });
});

describe('desired RuntimeClasses', () => {
  it('one per shim named like its handler, plus kata for the default shim, selecting the label and our mark', () => {
    const classes = desiredRuntimeClasses({ ...settings, multiInstallSuffix: 'dev' }, sizes);
    expect(classes.map((rc) => [rc.metadata!.name, rc.handler])).toEqual([
      ['kata-qemu-dev', 'kata-qemu-dev'],
      ['kata-clh-dev', 'kata-clh-dev'],
      ['kata-dev', 'kata-qemu-dev'],
    ]);
    expect(classes[0]!.scheduling!.nodeSelector).toEqual({
      'katacontainers.io/kata-runtime': 'true',
      'kata-deploy.katacontainers.io/dev': 'true',
    });
    expect(classes[0]!.metadata!.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'kata-deploy' });
  });

  it('none when neither setting asks for them', () => {
    expect(
      desiredRuntimeClasses({ ...settings, createRuntimeClasses: false, createDefaultRuntimeClass: false }, sizes),
    ).toEqual([]);
  });

  it('an equal existing class is left alone and a foreign one is never taken over', () => {
    const [desired] = desiredRuntimeClasses(settings, sizes);
    expect(
      decideRuntimeClass(desired!, { ...desired!, metadata: { ...desired!.metadata, resourceVersion: '5' } }),
    ).toEqual({ kind: 'unchanged' });
    expect(decideRuntimeClass(desired!, { metadata: { name: 'kata-qemu' }, handler: 'kata-qemu' })).toEqual({
      kind: 'foreign',
    });
  });
});

describe('RuntimeClasses against the API server', () => {
  let setup: FakeKubeSetup;
  beforeEach(async () => {
    setup = await startFakeKube();
  });
  afterEach(async () => setup.cleanup());

  it('the first node creates them, the next finds them equal and only lists', async () => {
    const desired = desiredRuntimeClasses(settings, sizes);
    expect(await ensureRuntimeClasses(setup.access.kube, desired, undefined, silentLogger(), setup.clock)).toEqual({
      'kata-qemu': 'created',
      'kata-clh': 'created',
      kata: 'created',
    });
    const before = setup.api.requests.length;
    expect(await ensureRuntimeClasses(setup.access.kube, desired, undefined, silentLogger(), setup.clock)).toEqual({
      'kata-qemu': 'unchanged',
      'kata-clh': 'unchanged',
      kata: 'unchanged',
    });
    expect(setup.api.requests.length - before).toBe(1);
    expect(setup.api.runtimeClasses.get('kata')).toMatchObject({
      handler: 'kata-qemu',
      overhead: { podFixed: { memory: '2208Mi', cpu: '1250m' } },
    });
  });

  it('a changed config updates the class with the resourceVersion it read, keeping an operator label', async () => {
    await ensureRuntimeClasses(
      setup.access.kube,
      desiredRuntimeClasses(settings, sizes),
      undefined,
      silentLogger(),
      setup.clock,
    );
    setup.api.runtimeClasses.get('kata-clh')!.metadata.labels.team = 'infra';
    const bigger = new Map(sizes).set('clh', { memoryMiB: 1024, vcpus: 2 });
    const report = await ensureRuntimeClasses(
      setup.access.kube,
      desiredRuntimeClasses(settings, bigger),
      undefined,
      silentLogger(),
      setup.clock,
    );
    expect(report['kata-clh']).toBe('updated');
    const put = setup.api.requests.find((r) => r.method === 'PUT')!;
    expect(put.body).toMatchObject({ metadata: { resourceVersion: expect.any(String) } });
    expect(setup.api.runtimeClasses.get('kata-clh')).toMatchObject({
      metadata: { labels: { team: 'infra' } },
      overhead: { podFixed: { memory: '1154Mi' } },
    });
  });

  it('a class created by another node in between is read again instead of failing', async () => {
    const desired = desiredRuntimeClasses({ ...settings, createDefaultRuntimeClass: false, shims: ['qemu'] }, sizes);
    setup.api.faults.push({
      method: 'POST',
      path: 'runtimeclasses',
      times: 1,
      action: {
        before: (api) => {
          api.runtimeClasses.set('kata-qemu', {
            ...structuredClone(desired[0]),
            metadata: { ...structuredClone(desired[0]!.metadata), resourceVersion: '7' },
          });
        },
      },
    });
    expect(await ensureRuntimeClasses(setup.access.kube, desired, undefined, silentLogger(), setup.clock)).toEqual({
      'kata-qemu': 'unchanged',
    });
  });

  it('a node that loses the creation race re-lists once instead of reading every class', async () => {
    const desired = desiredRuntimeClasses(settings, sizes);
    // The other node creates all three between our LIST and our first POST.
    setup.api.faults.push({
      method: 'POST',
      path: 'runtimeclasses',
      times: 1,
      action: {
        before: (api) => {
          for (const rc of desired)
            api.runtimeClasses.set(rc.metadata!.name!, {
              ...structuredClone(rc),
              metadata: { ...structuredClone(rc.metadata), resourceVersion: '9' },
            });
        },
      },
    });
    const report = await ensureRuntimeClasses(setup.access.kube, desired, undefined, silentLogger(), setup.clock);
    expect(report).toEqual({ 'kata-qemu': 'unchanged', 'kata-clh': 'unchanged', kata: 'unchanged' });
    expect(setup.api.requests.map((r) => r.method)).toEqual(['GET', 'POST', 'GET']);
  });

  it('an operator-made class of the same name is left as it is', async () => {
    setup.api.runtimeClasses.set('kata', {
      apiVersion: 'node.k8s.io/v1',
      kind: 'RuntimeClass',
      metadata: { name: 'kata', resourceVersion: '3' },
      handler: 'kata-fc',
    });
    const report = await ensureRuntimeClasses(
      setup.access.kube,
      desiredRuntimeClasses(settings, sizes),
      undefined,
      silentLogger(),
      setup.clock,
    );
    expect(report.kata).toBe('foreign');
    expect(setup.api.runtimeClasses.get('kata')!.handler).toBe('kata-fc');
  });

  it('a RuntimeClass write refused by RBAC names the verb and resource', async () => {
    setup.api.forbidden.add('create runtimeclasses');
    await expect(
      ensureRuntimeClasses(
        setup.access.kube,
        desiredRuntimeClasses(settings, sizes),
        undefined,
        silentLogger(),
        setup.clock,
      ),
    ).rejects.toMatchObject({
      code: 'kube-api',
      message: expect.stringContaining('verb "create" on resource "runtimeclasses.node.k8s.io"'),
    });
  });
});
