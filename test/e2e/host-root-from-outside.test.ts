import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerdCases } from '../helpers/throwaway-node/matrix.js';
import { startThrowawayNode, type ThrowawayNode } from '../helpers/throwaway-node/node.mjs';
import { samplePayload } from '../helpers/sample-payload.js';

const CLI = path.resolve(import.meta.dirname, '../../dist/cli/main.js');
const CONFIG = `version = 2
# operator comment
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
`;

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { PATH: process.env.PATH ?? '', LOG_FORMAT: 'json' }, timeout: 120_000 },
      (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : ((error as { code?: number }).code ?? 1), stdout, stderr });
      },
    );
  });
}

const first = containerdCases()[0]!;

/**
 * The DaemonSet's situation: the node's filesystem mounted at a path (here /proc/<pid>/root of the
 * throwaway node) and every host path resolved under it — config, sockets, the host's own containerd
 * (run through the host root's own loader to validate), systemd's socket.
 */
describe.skipIf(first.missing !== undefined)(
  'install and uninstall with --host-root pointing at a mounted node',
  () => {
    let node: ThrowawayNode;
    let root: string;
    let planted: string;

    beforeAll(async () => {
      node = await startThrowawayNode({ containerd: first.binary!, config: CONFIG });
      root = node.hostPath('/');
      // What a killed run of an older kata-deploy left in the host's /tmp: not ours to touch.
      planted = await mkdtemp(path.join(root, 'tmp', 'kata-deploy-validate-'));
      await writeFile(path.join(planted, 'config.toml'), CONFIG);
    });
    afterAll(async () => {
      // Through the node's /proc/<pid>/root, so before the node stops.
      if (planted !== undefined) await rm(planted, { recursive: true, force: true });
      await node?.stop();
    });

    it(
      'installs with the handlers live, then uninstalls back to the exact bytes, its scratch files only ever ' +
        "in the node's /run/kata-deploy",
      async () => {
        const args = [
          '--host-root',
          root,
          '--payload',
          samplePayload(),
          '--shims',
          'qemu',
          '--systemd-socket',
          node.systemdSocket.startsWith(root) ? node.systemdSocket.slice(root.length - 1) : node.systemdSocket,
        ];
        const installed = await cli(['install', '--json', ...args]);
        expect(installed.code, installed.stderr).toBe(0);
        expect(JSON.parse(installed.stdout).readiness.ready).toBe(true);
        expect(await node.readFile('/etc/containerd/config.toml')).toContain('kata-qemu');
        const removed = await cli(['uninstall', ...args]);
        expect(removed.code, removed.stderr).toBe(0);
        expect(await node.readFile('/etc/containerd/config.toml')).toBe(CONFIG);
        expect(await readdir(path.join(root, 'var/lib/kata-deploy')), 'nothing left in the state dir').toEqual([]);
        expect(await readdir(path.join(root, 'run/kata-deploy')), 'no scratch dir left').toEqual(['lock']);
        expect(await readFile(path.join(planted, 'config.toml'), 'utf8'), "another run's file untouched").toBe(CONFIG);
      },
    );
  },
);
