import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NodeHostFs } from '../../src/host/node-host-fs.js';
import { silentLogger } from '../../src/host/logger.js';
import { phaseStart, runDaemonPhase } from '../../src/modes/daemon-command.js';
import { parseSettings } from '../../src/settings/parse-settings.js';
import { startFakeKube, type FakeKubeSetup } from '../helpers/fake-kube-setup.js';
import { makeTempRoot, type TempRoot } from '../helpers/temp-root.js';

let setup: FakeKubeSetup;
let root: TempRoot;

beforeEach(async () => {
  setup = await startFakeKube('worker-1');
  setup.api.addNode('worker-1');
  root = await makeTempRoot({
    '/opt/kata/share/defaults/kata-containers/configuration-qemu.toml':
      '[hypervisor.qemu]\ndefault_memory = 1024\ndefault_vcpus = 1\n',
    '/opt/kata/share/defaults/kata-containers/configuration-clh.toml': '[hypervisor.clh]\ndefault_memory = 512\n',
  });
});
afterEach(async () => {
  await setup.cleanup();
  await root.cleanup();
});

describe('kata-deploy daemon phases wired to real ports', () => {
  it(
    'the install phase creates RuntimeClasses from the installed configs; with the DaemonSet gone the teardown ' +
      'phase uninstalls and releases the node',
    async () => {
      const settings = parseSettings({
        env: {
          NODE_NAME: 'worker-1',
          KUBECONFIG: setup.kubeconfig,
          SHIMS: 'qemu clh',
          CREATE_RUNTIMECLASSES: 'true',
          CREATE_DEFAULT_RUNTIMECLASS: 'true',
        },
        flags: {},
        arch: 'x86_64',
      });
      const calls: string[] = [];
      const options = {
        install: async () => {
          calls.push('install');
          return { kind: 'installed', summary: 'installed' } as const;
        },
        uninstall: async () => {
          calls.push('uninstall');
        },
        fs: new NodeHostFs(root.root),
      };
      expect(await runDaemonPhase('install', settings, options, silentLogger())).toEqual({ kind: 'ready' });
      expect(setup.api.runtimeClasses.get('kata-clh')?.overhead.podFixed).toEqual({ memory: '642Mi', cpu: '1250m' });
      expect(setup.api.runtimeClasses.get('kata')?.handler).toBe('kata-qemu');
      expect(setup.api.labels('worker-1')['katacontainers.io/kata-runtime']).toBe('true');
      expect(await runDaemonPhase('teardown', settings, options, silentLogger())).toMatchObject({
        kind: 'uninstalled',
      });
      expect(calls).toEqual(['install', 'uninstall']);
      expect(setup.api.labels('worker-1')['katacontainers.io/kata-runtime']).toBeUndefined();
      expect(setup.api.runtimeClasses.size).toBe(3);
    },
  );

  it('the phase start tells the daemon the health port and how to log, JSON unless a person is watching', () => {
    const settings = (env: Record<string, string>) => parseSettings({ env, flags: {}, arch: 'x86_64' });
    expect(phaseStart(settings({ HEALTH_PORT: '9100' }), false)).toEqual({
      kataDeployDaemon: 'start',
      healthPort: 9100,
      log: { level: 'info', json: true },
    });
    expect(phaseStart(settings({}), true)).toMatchObject({ log: { json: false } });
    expect(phaseStart(settings({ LOG_FORMAT: 'json', LOG_LEVEL: 'warn' }), true)).toMatchObject({
      log: { level: 'warn', json: true },
    });
  });
});
