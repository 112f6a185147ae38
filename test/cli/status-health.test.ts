import { readFileSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startPrivateContainerd, type PrivateContainerd } from '../helpers/private-containerd.js';
import { makeTempRoot, type TempRoot } from '../helpers/temp-root.js';
import { onTempRoot } from '../helpers/temp-root-cli.js';

/** containerd 1.7.24 honours runtime_path (1.6.20 does not: it would need shim links on PATH). */
const CONTAINERD_1_7 = path.resolve(import.meta.dirname, '../../.cache/containerd/trixie/usr/bin/containerd');

let temp: TempRoot | undefined;
let containerd: PrivateContainerd | undefined;
afterEach(async () => {
  await containerd?.stop();
  containerd = undefined;
  await temp?.cleanup();
  temp = undefined;
});

/**
 * Installs on a temp host root, then runs a real containerd 1.7 on the config the install wrote (its
 * paths moved into the temp dir) at the host's runtime socket: status then talks to a live runtime that
 * serves our handlers. `rewrite` changes the live config first, as another drop-in winning the merge would.
 */
async function installedWithLiveRuntime(rewrite: (config: string) => string = (config) => config): Promise<string> {
  temp = await makeTempRoot({ '/etc/containerd/config.toml': 'version = 2\n', '/run/lock': { dir: true } });
  const run = await onTempRoot(temp.root, 'install');
  expect(run.code, run.stderr).toBe(0);
  const installed = readFileSync(path.join(temp.root, 'etc/containerd/config.toml'), 'utf8');
  containerd = await startPrivateContainerd(
    CONTAINERD_1_7,
    path.join(temp.root, 'var/lib/test-containerd'),
    path.join(temp.root, 'run/containerd/containerd.sock'),
    rewrite(installed.replace(/^version = 2$/m, '')),
  );
  return temp.root;
}

async function status(root: string): Promise<{ code: number; report: { healthy: boolean; drift: string[] } }> {
  const run = await onTempRoot(root, 'status', ['--json', '--containerd-binary', CONTAINERD_1_7]);
  return { code: run.code, report: JSON.parse(run.stdout) };
}

describe('status is healthy only when a pod could run our Kata', () => {
  it('is healthy with every file in place and our handlers live', async () => {
    const root = await installedWithLiveRuntime();
    expect(await status(root)).toMatchObject({ code: 0, report: { healthy: true, drift: [] } });
  });

  for (const file of ['bin/containerd-shim-kata-v2', 'bin/qemu-system-x86_64']) {
    it(`reports drift (exit 8) when /opt/kata/${file} was deleted`, async () => {
      const root = await installedWithLiveRuntime();
      unlinkSync(path.join(root, 'opt/kata', file));
      const { code, report } = await status(root);
      expect(code).toBe(8);
      expect(report.healthy).toBe(false);
      expect(report.drift).toContain(`/opt/kata/${file} is missing or changed since kata-deploy installed it`);
    });
  }

  it('reports drift when the live kata-qemu handler runs a foreign shim and config', async () => {
    const root = await installedWithLiveRuntime((config) =>
      config
        .replace(/runtime_path = "\/opt\/kata\/bin\/containerd-shim-kata-v2"/, 'runtime_path = "/usr/local/bin/other"')
        .replace(/ConfigPath = "[^"]*kata-qemu[^"]*"/, 'ConfigPath = "/etc/other/kata.toml"'),
    );
    const { code, report } = await status(root);
    expect(code).toBe(8);
    expect(report.drift).toContain(
      'live handler kata-qemu runs shim "/usr/local/bin/other", not ours (/opt/kata/bin/containerd-shim-kata-v2)',
    );
    expect(report.drift).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^live handler kata-qemu reads Kata config "\/etc\/other\/kata.toml"/),
      ]),
    );
  });
});
