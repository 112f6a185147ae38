import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { containerdCases, RUNC_ONLY, WITH_KATA } from '../helpers/throwaway-node/matrix.js';
import { startThrowawayNode } from '../helpers/throwaway-node/node.mjs';

const [oldest] = containerdCases();

function processesUnder(stateDir: string): string[] {
  const out = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return out.split('\n').filter((line) => line.includes(stateDir) || line.includes(path.basename(stateDir)));
}

describe.skipIf(oldest!.missing !== undefined)(
  `the throwaway node${oldest!.missing ? ` (skipped: ${oldest!.missing})` : ''}`,
  () => {
    it(
      'keeps its files private to its namespace, runs commands inside it, and leaves nothing behind when ' + 'stopped',
      async () => {
        const node = await startThrowawayNode({ containerd: oldest!.binary!, config: RUNC_ONLY });
        let mainPid: string;
        try {
          await node.writeFile('/opt/kata/marker', 'inside');
          expect(await node.readFile('/opt/kata/marker')).toBe('inside');
          expect(readFileSync(node.hostPath('/opt/kata/marker'), 'utf8')).toBe('inside');
          expect(existsSync('/opt/kata/marker')).toBe(false);
          expect(await node.stat('/run/containerd/containerd.sock')).toMatchObject({ exists: true, isFile: false });
          const cat = await node.run(['cat', '/etc/containerd/config.toml']);
          expect(cat).toMatchObject({ exitCode: 0, stdout: RUNC_ONLY });
          const show = await node.run([
            'systemctl',
            '--user',
            'show',
            '-p',
            'MainPID',
            '--value',
            'containerd.service',
          ]);
          mainPid = show.stdout.trim();
          expect(Number(mainPid)).toBeGreaterThan(0);
          expect(await node.containerdStarts()).toBe(1);
        } finally {
          await node.stop();
        }
        expect(existsSync(`/proc/${mainPid}`)).toBe(false);
        expect(existsSync(`/proc/${node.pid}`)).toBe(false);
        expect(processesUnder(node.stateDir)).toEqual([]);
        expect(existsSync(path.join('/sys/fs/cgroup/systemd', path.basename(node.stateDir)))).toBe(false);
        expect(existsSync(node.stateDir)).toBe(false);
      },
    );

    it(
      'counts every daemon start, and its refusing wrapper fails the start only while kata handlers are ' +
        'configured',
      async () => {
        const node = await startThrowawayNode({ containerd: oldest!.binary!, config: RUNC_ONLY, refuseKata: true });
        try {
          const restart = async () =>
            (await node.run(['systemctl', '--user', 'restart', 'containerd.service'])).exitCode;
          expect(await restart()).toBe(0);
          expect(await node.containerdStarts()).toBe(2);
          await node.writeFile('/etc/containerd/config.toml', WITH_KATA);
          expect(await restart()).not.toBe(0);
          expect(await node.containerdLog()).toContain('refusing a config with kata handlers');
          await node.writeFile('/etc/containerd/config.toml', RUNC_ONLY);
          expect(await restart()).toBe(0);
          expect(await node.containerdStarts()).toBe(4);
        } finally {
          await node.stop();
        }
      },
    );

    it('cleans up even when the test process never calls stop (the agent sees its stdin close)', async () => {
      const node = await startThrowawayNode({ containerd: oldest!.binary!, config: RUNC_ONLY });
      const show = await node.run(['systemctl', '--user', 'show', '-p', 'MainPID', '--value', 'containerd.service']);
      const mainPid = show.stdout.trim();
      const agent = node.pid;
      // Closing stdin is what the agent sees when the vitest worker dies.
      process.kill(agent, 0);
      (node as unknown as { closeStdin(): void }).closeStdin();
      for (let tries = 0; tries < 200 && existsSync(`/proc/${agent}`); tries++)
        await new Promise((resolve) => setTimeout(resolve, 25));
      expect(existsSync(`/proc/${mainPid}`)).toBe(false);
      expect(existsSync(`/proc/${agent}`)).toBe(false);
      await node.stop();
    });

    it('still kills systemd and containerd when its agent was killed outright', async () => {
      const node = await startThrowawayNode({ containerd: oldest!.binary!, config: RUNC_ONLY });
      const show = await node.run(['systemctl', '--user', 'show', '-p', 'MainPID', '--value', 'containerd.service']);
      const mainPid = show.stdout.trim();
      process.kill(node.pid, 'SIGKILL');
      await node.stop();
      for (let tries = 0; tries < 200 && existsSync(`/proc/${mainPid}`); tries++)
        await new Promise((resolve) => setTimeout(resolve, 25));
      expect(existsSync(`/proc/${mainPid}`)).toBe(false);
      expect(processesUnder(node.stateDir)).toEqual([]);
    });
  },
);
