import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerdServing, containerdVersion } from '../../src/containerd/client.js';
import { criStatus } from '../../src/containerd/cri-status.js';
import { containerdPlugins } from '../../src/containerd/introspection.js';
import { socketProbe, waitForHandlers } from '../../src/containerd/readiness.js';
import { systemClock } from '../../src/host/clock.js';
import { silentLogger } from '../../src/host/logger.js';
import { connectSystemd } from '../../src/systemd/systemd-client.js';
import type { SystemdPort } from '../../src/systemd/systemd-port.js';
import { containerdCases, criBreakingConfig, RUNC_ONLY, WITH_KATA } from '../helpers/throwaway-node/matrix.js';
import { startThrowawayNode } from '../helpers/throwaway-node/node.mjs';
import { capturedLog } from '../helpers/captured-log.js';

for (const testCase of containerdCases()) {
  describe.skipIf(testCase.missing !== undefined)(
    `containerd readiness over its socket, ` +
      `${testCase.label}${testCase.missing ? ` (skipped: ${testCase.missing})` : ''}`,
    () => {
      let node: Awaited<ReturnType<typeof startThrowawayNode>>;
      let systemd: SystemdPort;

      const restartWith = async (config: string) => {
        await node.writeFile('/etc/containerd/config.toml', config);
        const outcome = await systemd.restartUnit('containerd.service', 20_000);
        expect(outcome.result).toBe('done');
      };

      beforeAll(async () => {
        node = await startThrowawayNode({ containerd: testCase.binary!, config: RUNC_ONLY });
        systemd = await connectSystemd(node.systemdSocket, silentLogger());
      });
      afterAll(async () => {
        systemd?.close();
        await node?.stop();
      });

      it('lists runc as a live CRI handler, the runtime ready and the server serving', async () => {
        const status = await criStatus(node.containerdSocket);
        expect(status.runtimeReady).toBe(true);
        expect(status.handlers).toContain('runc');
        expect(status.handlers).not.toContain('');
        expect(await containerdServing(node.containerdSocket)).toBe(true);
      });

      it('lists a handler added to the config once containerd has restarted, and not before', async () => {
        await node.writeFile('/etc/containerd/config.toml', WITH_KATA);
        expect((await criStatus(node.containerdSocket)).handlers).not.toContain('kata-qemu');
        await restartWith(WITH_KATA);
        const readiness = await waitForHandlers(
          socketProbe(node.containerdSocket),
          ['runc', 'kata-qemu'],
          10_000,
          systemClock,
          silentLogger(),
        );
        expect(readiness).toMatchObject({ ready: true });
        expect(readiness.ready && readiness.handlers).toEqual(expect.arrayContaining(['kata-qemu', 'runc']));
      });

      it('reports a failed CRI plugin with its init error although containerd still answers Version', async () => {
        await restartWith(criBreakingConfig(testCase.major));
        try {
          expect((await containerdVersion(node.containerdSocket)).version).not.toBe('');
          const { log, records: lines } = capturedLog();
          const readiness = await waitForHandlers(
            socketProbe(node.containerdSocket),
            ['runc'],
            10_000,
            systemClock,
            log,
          );
          expect(readiness.ready).toBe(false);
          if (readiness.ready) return;
          expect(readiness.kind).toBe('cri-plugin-failed');
          expect(readiness.reason).toMatch(
            new RegExp(
              /^CRI plugin io\.containerd\.(grpc\.v1 cri|cri\.v1 runtime) failed to initialise: /.source +
                /invalid plugin config: no corresponding runtime configured in `containerd.runtimes`/.source,
            ),
          );
          expect(lines.some((line) => line.msg === 'waiting for containerd' && line.reason === readiness.reason)).toBe(
            true,
          );
          const plugins = await containerdPlugins(node.containerdSocket);
          expect(plugins.some((plugin) => plugin.id === 'cri' && plugin.initError !== undefined)).toBe(true);
        } finally {
          await restartWith(RUNC_ONLY);
        }
      });

      it('gives up at the deadline naming the handlers CRI does not serve', async () => {
        const readiness = await waitForHandlers(
          socketProbe(node.containerdSocket),
          ['runc', 'kata-never-configured'],
          300,
          systemClock,
          silentLogger(),
          { intervalMs: 20 },
        );
        expect(readiness).toMatchObject({ ready: false, kind: 'handlers-missing', missing: ['kata-never-configured'] });
        expect(!readiness.ready && readiness.reason).toMatch(
          /^CRI does not list runtime handler\(s\) kata-never-configured \(live: .*runc.*\) after \d+ ms$/,
        );
      });
    },
  );
}

describe('containerd readiness without a daemon', () => {
  it('reports the socket as unavailable once the deadline passes', async () => {
    const readiness = await waitForHandlers(
      socketProbe('/nonexistent/containerd.sock'),
      ['runc'],
      200,
      systemClock,
      silentLogger(),
      { intervalMs: 20 },
    );
    expect(readiness).toMatchObject({ ready: false, kind: 'socket-unavailable' });
    expect(!readiness.ready && readiness.reason).toMatch(
      /^containerd socket \/nonexistent\/containerd\.sock is not answering \(.*ENOENT.*\) after \d+ ms$/,
    );
  });
});
