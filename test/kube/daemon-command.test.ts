import { createServer } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NodeHostFs } from '../../src/host/node-host-fs.js';
import { silentLogger } from '../../src/host/logger.js';
import { runDaemonCommand } from '../../src/modes/daemon-command.js';
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

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function untilReady(port: number): Promise<void> {
  for (;;) {
    const status = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('kata-deploy daemon wired to real ports', () => {
  it(
    'creates RuntimeClasses from the installed configs and, on a real SIGTERM with the DaemonSet gone, uninstalls ' +
      'and exits 0',
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
      const port = await freePort();
      const calls: string[] = [];
      const running = runDaemonCommand(
        settings,
        {
          install: async () => {
            calls.push('install');
            return { kind: 'installed', summary: 'installed' };
          },
          uninstall: async () => {
            calls.push('uninstall');
          },
          fs: new NodeHostFs(root.root),
          healthPort: port,
        },
        silentLogger(),
      );
      await untilReady(port);
      expect(setup.api.runtimeClasses.get('kata-clh')?.overhead.podFixed).toEqual({ memory: '642Mi', cpu: '1250m' });
      expect(setup.api.runtimeClasses.get('kata')?.handler).toBe('kata-qemu');
      process.kill(process.pid, 'SIGTERM');
      expect(await running).toBe(0);
      expect(calls).toEqual(['install', 'uninstall']);
      expect(setup.api.labels('worker-1')['katacontainers.io/kata-runtime']).toBeUndefined();
      expect(setup.api.runtimeClasses.size).toBe(3);
    },
  );
});
