import { mkdirSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KataDeployError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/host/logger.js';
import { restartFailure } from '../../src/systemd/restart-outcome.js';
import { connectSystemd } from '../../src/systemd/systemd-client.js';
import type { SystemdPort } from '../../src/systemd/systemd-port.js';
import { containerdCases, RUNC_ONLY, WITH_KATA } from '../helpers/throwaway-node/matrix.js';
import { startThrowawayNode } from '../helpers/throwaway-node/node.mjs';

const UNIT = 'containerd.service';

for (const testCase of containerdCases()) {
  describe.skipIf(testCase.missing !== undefined)(
    `systemd over its private socket, ${testCase.label}${testCase.missing ? ` (skipped: ${testCase.missing})` : ''}`,
    () => {
      let node: Awaited<ReturnType<typeof startThrowawayNode>>;
      let systemd: SystemdPort;
      const unitDir = () => path.join(node.stateDir, 'xdg-config/systemd/user');
      const addUnit = (name: string, body: string) => {
        mkdirSync(unitDir(), { recursive: true });
        writeFileSync(path.join(unitDir(), name), body);
      };

      beforeAll(async () => {
        node = await startThrowawayNode({ containerd: testCase.binary!, config: RUNC_ONLY, refuseKata: true });
        systemd = await connectSystemd(node.systemdSocket, silentLogger());
      });
      afterAll(async () => {
        systemd?.close();
        await node?.stop();
      });

      it(
        'restarts containerd: the job ends done, the unit runs a new invocation and the daemon started once ' + 'more',
        async () => {
          const before = await systemd.unitState(UNIT);
          const startsBefore = await node.containerdStarts();
          const outcome = await systemd.restartUnit(UNIT, 20_000);
          expect(outcome.result).toBe('done');
          expect(outcome.state).toMatchObject({ activeState: 'active', subState: 'running' });
          expect(outcome.state.invocationId).toMatch(/^[0-9a-f]{32}$/);
          expect(outcome.state.invocationId).not.toBe(before.invocationId);
          expect(outcome.state.mainPid).not.toBe(before.mainPid);
          expect(await node.containerdStarts()).toBe(startsBefore + 1);
          expect(restartFailure(outcome)).toBeUndefined();
        },
      );

      it(
        'reports a restart whose start fails as job failed, unit failed, and a restart-failed error naming ' + 'both',
        async () => {
          await node.writeFile('/etc/containerd/config.toml', WITH_KATA);
          try {
            const outcome = await systemd.restartUnit(UNIT, 20_000);
            expect(outcome.result).toBe('failed');
            expect(outcome.state.activeState).toBe('failed');
            expect(outcome.state.result).toBe('exit-code');
            expect(outcome.state.execMainStatus).toBe(1);
            const error = restartFailure(outcome);
            expect(error).toBeInstanceOf(KataDeployError);
            expect(error?.code).toBe('restart-failed');
            expect(error?.message).toContain(
              `${UNIT} did not restart: its restart job ended 'failed'; unit is failed/failed, result exit-code, ` +
                `exit ` +
                `status 1`,
            );
          } finally {
            await node.writeFile('/etc/containerd/config.toml', RUNC_ONLY);
          }
          const recovered = await systemd.restartUnit(UNIT, 20_000);
          expect(recovered.result).toBe('done');
          expect(recovered.state.activeState).toBe('active');
        },
      );

      it('reloads unit files: a changed Description is live only after reload', async () => {
        const unit = (description: string) =>
          `[Unit]\nDescription=${description}\n[Service]\nExecStart=/bin/sleep 600\n`;
        addUnit('probe.service', unit('before'));
        await systemd.reload();
        expect((await systemd.restartUnit('probe.service', 20_000)).state.activeState).toBe('active');
        addUnit('probe.service', unit('after'));
        const description = async () =>
          (
            await node.run(['systemctl', '--user', 'show', '-p', 'Description', '--value', 'probe.service'])
          ).stdout.trim();
        expect(await description()).toBe('before');
        await systemd.reload();
        expect(await description()).toBe('after');
      });

      it('stops waiting at the deadline and says the job was still running', async () => {
        addUnit(
          'slow.service',
          '[Unit]\nStartLimitIntervalSec=0\n[Service]\nType=notify\nExecStart=/bin/sleep 60\nTimeoutStartSec=90\n',
        );
        await systemd.reload();
        const outcome = await systemd.restartUnit('slow.service', 300);
        expect(outcome.result).toBe('deadline');
        expect(outcome.state.activeState).toBe('activating');
        expect(restartFailure(outcome)?.message).toMatch(
          /^slow\.service did not restart: its restart job was still running after \d+ ms; unit is activating\/start/,
        );
      });

      it('sends a signal to the main process of a unit (how CRI-O is told to reload)', async () => {
        const marker = path.join(node.stateDir, 'hup-received');
        const armed = path.join(node.stateDir, 'hup-armed');
        addUnit(
          'hup.service',
          `[Service]\nExecStart=/bin/sh -c 'trap "echo hup >> ${marker}" HUP; touch ${armed}; while :; do sleep ` +
            `0.05; done'\n`,
        );
        await systemd.reload();
        expect((await systemd.restartUnit('hup.service', 20_000)).result).toBe('done');
        const eventually = async (file: string) => {
          for (let tries = 0; tries < 200 && !existsSync(file); tries++)
            await new Promise((resolve) => setTimeout(resolve, 25));
        };
        await eventually(armed);
        await systemd.signalUnit('hup.service', 1);
        await eventually(marker);
        expect(readFileSync(marker, 'utf8')).toBe('hup\n');
        expect((await systemd.unitState('hup.service')).activeState).toBe('active');
      });

      it('raises restart-failed naming the unit when systemd refuses the job', async () => {
        const error = await systemd.restartUnit('no-such-unit-here.service', 5_000).catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(KataDeployError);
        expect((error as KataDeployError).code).toBe('restart-failed');
        expect((error as KataDeployError).message).toContain('restart no-such-unit-here.service');
      });
    },
  );
}

describe('connecting to systemd', () => {
  it('names the socket and the --systemd-socket flag when the socket does not exist', async () => {
    const error = await connectSystemd('/nonexistent/systemd/private', silentLogger()).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(KataDeployError);
    expect((error as KataDeployError).code).toBe('restart-failed');
    expect((error as KataDeployError).message).toBe(
      'systemd socket /nonexistent/systemd/private does not exist (is systemd running, and is its /run mounted into ' +
        'this container?)',
    );
    expect((error as KataDeployError).hint).toContain('--systemd-socket');
  });
});
