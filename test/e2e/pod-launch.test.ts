import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPodSandbox, waitForCriImage } from '../helpers/cri-sandbox.js';
import { PAUSE_IMAGE, pauseImageMissing, pauseImageTarball } from '../helpers/pause-image.js';
import { samplePayload } from '../helpers/sample-payload.js';
import { containerdCases } from '../helpers/throwaway-node/matrix.js';
import { startThrowawayNode, type ThrowawayNode } from '../helpers/throwaway-node/node.mjs';
import { logOf, nodeCli } from './node-cli.js';

// What a kubelet does once the node is labelled: RunPodSandbox with each handler. The payload's shim is a
// recording stand-in (scripts/make-sample-payload.mjs recordingShim): it appends how containerd exec'ed it
// to MARKER and exits 1, so RunPodSandbox fails, but only after containerd ran our shim.
const MARKER = '/run/kata-containers/shim-exec.log';
const HANDLERS = ['kata-qemu', 'kata-qemu-debug', 'kata-clh', 'kata-clh-debug'];
const LINK_DIR = '/usr/local/sbin';

const config = `version = 2
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${PAUSE_IMAGE}"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
`;

/** One line of the marker per exec: the path containerd ran, its arguments, the options on stdin. */
interface ShimExec {
  readonly exec: string;
  readonly args: string;
  readonly stdin: string;
}

async function shimExecs(node: ThrowawayNode): Promise<ShimExec[]> {
  const text = (await node.readFile(MARKER)) ?? '';
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const match = /^exec=(\S+) args=(.*?) stdin=(.*)$/.exec(line);
      return { exec: match?.[1] ?? '', args: match?.[2] ?? line, stdin: match?.[3] ?? '' };
    });
}

/**
 * The exec of the shim's `start` for the sandbox of one handler: the ConfigPath on stdin is the handler's own,
 * `runtimes/<shim>/` for a shim's handler, `custom-runtimes/<handler>/` for its debug variant (upstream's layout).
 */
function startOf(execs: readonly ShimExec[], handler: string): ShimExec | undefined {
  const dir = handler.endsWith('-debug')
    ? `/custom-runtimes/${handler}/`
    : `/runtimes/${handler.slice('kata-'.length)}/`;
  return execs.find((entry) => / start$/.test(entry.args) && entry.stdin.includes(dir));
}

const missingImage = pauseImageMissing();

for (const entry of containerdCases()) {
  const missing = entry.missing ?? missingImage;
  const ignoresRuntimePath = entry.label === 'containerd 1.6';
  describe.skipIf(missing !== undefined)(
    `a kubelet's RunPodSandbox execs our shim for every handler on ${entry.label}` +
      `${missing ? ` (skipped: ${missing})` : ''}`,
    () => {
      let node: ThrowawayNode;
      const options = {
        payload: samplePayload('recording', ['--recording-shim', MARKER]),
        containerd: entry.binary!,
        env: { DEBUG: 'true' },
      };

      beforeAll(async () => {
        node = await startThrowawayNode({ containerd: entry.binary!, config });
        const ctr = path.join(path.dirname(entry.binary!), 'ctr');
        const imported = await node.run([
          ctr,
          '--address',
          '/run/containerd/containerd.sock',
          '--namespace',
          'k8s.io',
          'images',
          'import',
          pauseImageTarball(),
        ]);
        expect(imported.exitCode, imported.stderr).toBe(0);
      });
      afterAll(async () => {
        await node?.stop();
      });

      if (ignoresRuntimePath) {
        it('refuses to install over a shim name on PATH that is not ours, changing nothing', async () => {
          const foreign = `${LINK_DIR}/containerd-shim-kata-qemu-v2`;
          await node.writeFile(foreign, '#!/bin/sh\necho operator shim\n');
          const run = await nodeCli(node, options, 'install');
          expect(run.exitCode, logOf(run)).toBe(5);
          expect(run.stderr).toContain(`${foreign} is a regular file, not kata-deploy's link`);
          expect(await node.readFile(foreign)).toBe('#!/bin/sh\necho operator shim\n');
          expect(await node.readFile('/etc/containerd/config.toml')).toBe(config);
          expect((await node.stat('/var/lib/kata-deploy/default')).exists).toBe(false);
          await node.run(['rm', foreign]);
        });
      }

      it('installs, and each handler resolves to our shim before the node would be labelled', async () => {
        const run = await nodeCli(node, options, 'install', ['--json']);
        expect(run.exitCode, logOf(run)).toBe(0);
        const result = JSON.parse(run.stdout);
        expect(result.handlers).toEqual(HANDLERS);
        const links = result.shimLinks.map((link: { path: string }) => link.path);
        expect(links).toEqual(
          ignoresRuntimePath ? HANDLERS.map((handler) => `${LINK_DIR}/containerd-shim-${handler}-v2`) : [],
        );
        const status = await nodeCli(node, options, 'status', ['--json']);
        expect(status.exitCode, status.stdout).toBe(0);
        const launch = JSON.parse(status.stdout).launch;
        expect(launch.map((shim: { via: string }) => shim.via)).toEqual(
          HANDLERS.map(() => (ignoresRuntimePath ? 'PATH' : 'runtime_path')),
        );
      });

      it('RunPodSandbox (host network, no CNI) makes containerd exec our shim for each handler', async () => {
        const socket = node.containerdSocket;
        expect(await waitForCriImage(socket, PAUSE_IMAGE, 20_000), 'CRI knows the imported pause image').toBe(true);
        const errors: string[] = [];
        for (const handler of HANDLERS) {
          const outcome = await runPodSandbox(socket, `pod-${handler}`, handler, '/run/kata-containers/pods');
          expect(outcome.ok, `the stand-in shim fails the sandbox for ${handler}`).toBe(false);
          if (!outcome.ok) errors.push(`${handler}: ${outcome.error}`);
        }
        const execs = await shimExecs(node);
        for (const handler of HANDLERS) {
          const start = startOf(execs, handler);
          expect(start, `no shim start recorded for ${handler}:\n${errors.join('\n')}`).toBeDefined();
          expect(start!.exec).toBe(
            ignoresRuntimePath ? `${LINK_DIR}/containerd-shim-${handler}-v2` : '/opt/kata/bin/containerd-shim-kata-v2',
          );
        }
      });

      if (ignoresRuntimePath) {
        it("status exits 8 when a handler's shim cannot be resolved, and a pod cannot start", async () => {
          await node.run(['rm', `${LINK_DIR}/containerd-shim-kata-clh-v2`]);
          const status = await nodeCli(node, options, 'status', ['--json']);
          expect(status.exitCode, status.stdout).toBe(8);
          expect(JSON.parse(status.stdout).drift.join('\n')).toContain(
            'handler kata-clh cannot start a pod: finds no containerd-shim-kata-clh-v2',
          );
          // containerd 1.6 caches the path it resolved for a runtime name, so the exec itself fails now.
          const before = (await shimExecs(node)).length;
          const outcome = await runPodSandbox(
            node.containerdSocket,
            'pod-unlinked',
            'kata-clh',
            '/run/kata-containers',
          );
          expect(outcome.ok).toBe(false);
          if (!outcome.ok) expect(outcome.error).toMatch(/containerd-shim-kata-clh-v2.*(no such file|not installed)/);
          expect((await shimExecs(node)).length, 'no shim ran').toBe(before);
        });

        it('install puts the missing link back without restarting containerd', async () => {
          const starts = await node.containerdStarts();
          const run = await nodeCli(node, options, 'install', ['--json']);
          expect(run.exitCode, logOf(run)).toBe(0);
          expect(JSON.parse(run.stdout).restart.performed).toBe(false);
          expect(await node.containerdStarts()).toBe(starts);
          expect((await nodeCli(node, options, 'status')).exitCode).toBe(0);
        });
      }

      it('uninstall removes every link it made and nothing else', async () => {
        await node.writeFile(`${LINK_DIR}/operator-tool`, 'kept\n');
        const run = await nodeCli(node, options, 'uninstall');
        expect(run.exitCode, logOf(run)).toBe(0);
        const left = await node.run(['ls', '-A', LINK_DIR]);
        expect(left.stdout.trim()).toBe('operator-tool');
        expect(await node.readFile('/etc/containerd/config.toml')).toBe(config);
      });
    },
  );
}
