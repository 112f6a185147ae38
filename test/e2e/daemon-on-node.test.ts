import { createServer } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KATA_RUNTIME_LABEL, markLabel } from '../../src/kube/labels.js';
import { startFakeKube, type FakeKubeSetup } from '../helpers/fake-kube-setup.js';
import { containerdCases } from '../helpers/throwaway-node/matrix.js';
import { startThrowawayNode, type ThrowawayNode } from '../helpers/throwaway-node/node.mjs';
import { samplePayload } from '../helpers/sample-payload.js';

const CLI = path.resolve(import.meta.dirname, '../../dist/cli/main.js');
const CONFIG = `version = 2
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
`;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const first = containerdCases()[0]!;

describe.skipIf(first.missing !== undefined)('kata-deploy daemon on a real node against the fake API server', () => {
  let node: ThrowawayNode;
  let kube: FakeKubeSetup;
  let payload: string;

  beforeAll(async () => {
    payload = samplePayload();
    kube = await startFakeKube('worker-1');
    kube.api.addNode('worker-1');
    kube.api.addDaemonSet('kata-deploy', 'kata-deploy');
    node = await startThrowawayNode({ containerd: first.binary!, config: CONFIG });
  });
  afterAll(async () => {
    await node?.stop();
    await kube?.cleanup();
  });

  /** Starts the daemon in the node, waits for /readyz, sends SIGTERM, returns its exit status and log. */
  async function daemonUntilReadyThenTerm(): Promise<{ exit: string; log: string }> {
    const port = await freePort();
    const daemon = [
      process.execPath,
      CLI,
      'daemon',
      '--kubeconfig',
      kube.kubeconfig,
      '--node-name',
      'worker-1',
      '--namespace',
      'kata-deploy',
      '--health-port',
      String(port),
      '--systemd-socket',
      node.systemdSocket,
      '--payload',
      payload,
      '--shims',
      'qemu clh',
      '--containerd-binary',
      first.binary!,
      '--log-format',
      'json',
    ]
      .map((arg) => `'${arg}'`)
      .join(' ');
    const probe =
      `${process.execPath} -e "fetch('http://127.0.0.1:${port}/readyz').then((r) => ` +
      `process.exit(r.status === 200 ? 0 : 1), () => process.exit(1))"`;
    const script = `${daemon} 2>"$LOG" & pid=$!
tries=0
until ${probe}; do
  tries=$((tries+1)); if [ $tries -gt 600 ] || ! kill -0 $pid 2>/dev/null; then break; fi; sleep 0.1
done
kill -TERM $pid 2>/dev/null; wait $pid; echo "exit=$?"`;
    const log = path.join(node.stateDir, `daemon-${port}.log`);
    const run = await node.run(['sh', '-c', script], { env: { LOG: log }, timeoutMs: 120_000 });
    return { exit: run.stdout.trim(), log: (await node.readFile(log)) ?? '' };
  }

  it('installs, labels the node, and on SIGTERM with its DaemonSet present leaves Kata in place', async () => {
    const { exit, log } = await daemonUntilReadyThenTerm();
    expect(exit, log).toBe('exit=0');
    expect(kube.api.labels('worker-1')).toMatchObject({ [KATA_RUNTIME_LABEL]: 'true', [markLabel(undefined)]: 'true' });
    expect(await node.readFile('/etc/containerd/config.toml')).toContain('kata-qemu');
    expect(await node.containerdStarts()).toBe(2);
    expect(kube.api.events.map((event) => event.reason)).toEqual(['KataInstalled']);
    const slots = kube.api.leases.history.map((change) => change.holder);
    expect(slots, 'the install restarted under a restart slot, then gave it back').toEqual(['worker-1', undefined]);
  });

  it(
    'restarted, finds the node converged; after the DaemonSet is deleted, SIGTERM uninstalls and releases the ' +
      'labels',
    async () => {
      kube.api.removeDaemonSet('kata-deploy', 'kata-deploy');
      const { exit, log } = await daemonUntilReadyThenTerm();
      expect(exit, log).toBe('exit=0');
      expect(await node.readFile('/etc/containerd/config.toml')).toBe(CONFIG);
      expect((await node.stat('/opt/kata')).exists).toBe(false);
      expect(await node.containerdStarts(), 'no restart on the converged start, one for the uninstall').toBe(3);
      expect(kube.api.labels('worker-1')[KATA_RUNTIME_LABEL]).toBeUndefined();
      expect(kube.api.labels('worker-1')[markLabel(undefined)]).toBeUndefined();
      expect(kube.api.events.map((event) => event.reason)).toEqual(['KataInstalled', 'KataUninstalled']);
      const slots = kube.api.leases.history.map((change) => change.holder);
      expect(slots, 'no slot for the converged start, one for the teardown').toEqual([
        'worker-1',
        undefined,
        'worker-1',
        undefined,
      ]);
    },
  );
});
