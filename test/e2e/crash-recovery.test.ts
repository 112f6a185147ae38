import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAILPOINTS } from '../../src/transaction/failpoint.js';
import { containerdCases } from '../helpers/throwaway-node/matrix.js';
import { startThrowawayNode, type ThrowawayNode } from '../helpers/throwaway-node/node.mjs';
import { samplePayload } from '../helpers/sample-payload.js';
import { logOf, nodeCli } from './node-cli.js';
import { snapshotTree } from '../helpers/tree-snapshot.js';

const OPERATOR_CONFIG = `version = 2
# the operator's comment must survive every crash
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
`;

const first = containerdCases()[0]!;

describe.skipIf(first.missing !== undefined)(`SIGKILL at every step boundary, then rerun (${first.label})`, () => {
  let node: ThrowawayNode;
  let options: { payload: string; containerd: string };
  let pristine: Record<string, Record<string, string>>;

  /** Everything an install touches on the node, byte for byte (modes and link targets included). */
  async function hostState(): Promise<Record<string, Record<string, string>>> {
    const state: Record<string, Record<string, string>> = {};
    for (const dir of ['/etc/containerd', '/opt', '/var/lib/kata-deploy', '/usr/local/sbin'])
      state[dir] = await snapshotTree(node.hostPath(dir));
    return state;
  }

  beforeAll(async () => {
    options = { payload: samplePayload(), containerd: first.binary! };
    node = await startThrowawayNode({ containerd: first.binary!, config: OPERATOR_CONFIG });
    pristine = await hostState();
  });
  afterAll(async () => {
    await node?.stop();
  });

  async function expectPristine(): Promise<void> {
    expect(await node.readFile('/etc/containerd/config.toml')).toBe(OPERATOR_CONFIG);
    expect(await hostState()).toEqual(pristine);
  }

  async function expectHealthyInstall(): Promise<void> {
    const status = await nodeCli(node, options, 'status', ['--json']);
    expect(status.exitCode, status.stdout).toBe(0);
    expect(JSON.parse(status.stdout).live.missing).toEqual([]);
  }

  for (const step of FAILPOINTS) {
    it(`converges after a kill at ${step}`, async () => {
      const command = step.startsWith('install') ? 'install' : 'uninstall';
      if (command === 'uninstall') expect((await nodeCli(node, options, 'install')).exitCode).toBe(0);
      const killed = await nodeCli(node, options, command, [], { KATA_DEPLOY_TEST_FAILPOINT: step });
      expect(killed.signal, logOf(killed)).toBe('SIGKILL');
      const rerun = await nodeCli(node, options, command, command === 'install' ? ['--json'] : []);
      expect(rerun.exitCode, logOf(rerun)).toBe(0);
      if (command === 'install') {
        if (step === 'install:after-commit')
          expect(JSON.parse(rerun.stdout).payload.changed, 'a committed switch is finished, not undone').toBe(false);
        await expectHealthyInstall();
        const third = await nodeCli(node, options, 'install', ['--json']);
        expect(JSON.parse(third.stdout).changes).toEqual([]);
        expect((await nodeCli(node, options, 'uninstall')).exitCode).toBe(0);
      }
      await expectPristine();
    });
  }

  for (const step of [
    'install:after-payload',
    'install:after-kata-configs',
    'install:after-runtime-config',
    'install:after-commit',
  ] as const) {
    it(`uninstalls cleanly after an upgrade killed at ${step}`, async () => {
      expect((await nodeCli(node, options, 'install')).exitCode).toBe(0);
      const upgrade = { ...options, payload: samplePayload('sample-v2', ['--files', '140']) };
      const killed = await nodeCli(node, upgrade, 'install', [], { KATA_DEPLOY_TEST_FAILPOINT: step });
      expect(killed.signal, logOf(killed)).toBe('SIGKILL');
      const removed = await nodeCli(node, upgrade, 'uninstall');
      expect(removed.exitCode, logOf(removed)).toBe(0);
      await expectPristine();
    });
  }
});
