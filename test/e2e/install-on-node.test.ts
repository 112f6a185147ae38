import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerdCases } from '../helpers/throwaway-node/matrix.js';
import { startThrowawayNode, type ThrowawayNode } from '../helpers/throwaway-node/node.mjs';
import { samplePayload } from '../helpers/sample-payload.js';
import { logOf, nodeCli } from './node-cli.js';

const OPERATOR_CONFIG = `# Operator's containerd config; comments, CRLF-free, float kept as written.
version = 2

[plugins."io.containerd.grpc.v1.cri"]
  max_container_log_line_size = 16384
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
      SystemdCgroup = false

[timeouts]
  "io.containerd.timeout.shim.cleanup" = "5s"
`;

const cases = containerdCases().filter((entry) => entry.label !== 'containerd 1.7');

for (const entry of cases) {
  describe.skipIf(entry.missing !== undefined)(
    `install → reinstall → uninstall on a real node with ` +
      `${entry.label}${entry.missing ? ` (skipped: ${entry.missing})` : ''}`,
    () => {
      let node: ThrowawayNode;
      let options: { payload: string; containerd: string };

      beforeAll(async () => {
        options = { payload: samplePayload(), containerd: entry.binary! };
        node = await startThrowawayNode({ containerd: entry.binary!, config: OPERATOR_CONFIG });
      });
      afterAll(async () => {
        await node?.stop();
      });

      it('installs: handlers live in CRI status after exactly one containerd restart', async () => {
        const run = await nodeCli(node, options, 'install', ['--json']);
        expect(run.exitCode, logOf(run)).toBe(0);
        const result = JSON.parse(run.stdout);
        expect(result.restart.performed).toBe(true);
        expect(result.readiness.ready).toBe(true);
        expect(await node.containerdStarts()).toBe(2);
        const status = await nodeCli(node, options, 'status', ['--json']);
        expect(status.exitCode, status.stdout).toBe(0);
        expect(JSON.parse(status.stdout).live.handlers).toEqual(
          expect.arrayContaining(['runc', 'kata-qemu', 'kata-clh']),
        );
      });

      it('installs again without restarting containerd or writing anything', async () => {
        const run = await nodeCli(node, options, 'install', ['--json']);
        expect(run.exitCode, logOf(run)).toBe(0);
        const result = JSON.parse(run.stdout);
        expect(result.changes).toEqual([]);
        expect(result.payload.changed).toBe(false);
        expect(result.restart.performed).toBe(false);
        expect(await node.containerdStarts()).toBe(2);
      });

      it('uninstalls: config byte-identical, no Kata left, containerd healthy', async () => {
        const run = await nodeCli(node, options, 'uninstall');
        expect(run.exitCode, logOf(run)).toBe(0);
        expect(await node.readFile('/etc/containerd/config.toml')).toBe(OPERATOR_CONFIG);
        expect((await node.stat('/opt/kata')).exists).toBe(false);
        expect((await node.stat('/etc/containerd/conf.d')).exists).toBe(false);
        expect((await node.stat('/var/lib/kata-deploy/default')).exists).toBe(false);
        expect(await node.containerdStarts()).toBe(3);
        const status = await nodeCli(node, options, 'status', ['--json']);
        const report = JSON.parse(status.stdout);
        expect(report.installed).toBe(false);
        expect(report.live.handlers).toContain('runc');
        expect(report.live.handlers.filter((name: string) => name.startsWith('kata'))).toEqual([]);
      });

      it('uninstalls again as a no-op', async () => {
        const run = await nodeCli(node, options, 'uninstall', ['--json']);
        expect(run.exitCode).toBe(0);
        expect(JSON.parse(run.stdout).nothingInstalled).toBe(true);
        expect(await node.containerdStarts()).toBe(3);
      });
    },
  );
}

const first = cases[0]!;
describe.skipIf(first.missing !== undefined)('rollback when containerd refuses to start with Kata handlers', () => {
  let node: ThrowawayNode;
  afterAll(async () => {
    await node?.stop();
  });

  it('exits 6, restores the original config and leaves containerd active', async () => {
    node = await startThrowawayNode({ containerd: first.binary!, config: OPERATOR_CONFIG, refuseKata: true });
    const options = { payload: samplePayload(), containerd: first.binary! };
    const run = await nodeCli(node, options, 'install');
    expect(run.exitCode, logOf(run)).toBe(6);
    expect(logOf(run)).toMatch(/rolling back/);
    expect(run.stderr).toMatch(/restored/);
    expect(await node.readFile('/etc/containerd/config.toml')).toBe(OPERATOR_CONFIG);
    expect((await node.stat('/opt/kata')).exists).toBe(false);
    expect((await node.stat('/var/lib/kata-deploy/default')).exists).toBe(false);
    const status = await nodeCli(node, options, 'status', ['--json']);
    expect(JSON.parse(status.stdout).live.handlers).toContain('runc');
  });
});
