import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { samplePayload } from '../helpers/sample-payload.js';
import { makeTempRoot, type TempRoot } from '../helpers/temp-root.js';
import { onTempRoot } from '../helpers/temp-root-cli.js';
import { snapshotTree } from '../helpers/tree-snapshot.js';

const CLI = path.resolve(import.meta.dirname, '../../dist/cli/main.js');

/** The CLI on a temp root with a payload that ships the devkit extension (as upstream's artifact does). */
function withDevkitPayload(root: string, command: string, env: Record<string, string>) {
  const args = [CLI, command, '--host-root', root, '--payload', samplePayload('sample', ['--devkit', 'yes'])];
  return new Promise<{ code: number; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [...args, '--shims', 'qemu clh', '--restart', 'none'],
      { env: { PATH: process.env.PATH ?? '', LOG_FORMAT: 'json', KATA_REQUIRE_KVM: 'false', ...env } },
      (error, _stdout, stderr) =>
        resolve({ code: error === null ? 0 : ((error as { code?: number }).code ?? 1), stderr }),
    );
  });
}

const CONFIG = 'version = 2\n\n[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "registry.k8s.io/pause:3.9"\n';

let temp: TempRoot | undefined;
afterEach(async () => {
  await temp?.cleanup();
  temp = undefined;
});

describe('DEVKIT through the CLI', () => {
  it('exits 4 naming the missing devkit image when the payload lacks it, and changes nothing', async () => {
    temp = await makeTempRoot({ '/etc/containerd/config.toml': CONFIG, '/run/kata-deploy': { dir: true } });
    const before = await snapshotTree(temp.root);
    const run = await onTempRoot(temp.root, 'install', [], { DEBUG: 'true', DEVKIT: 'true' });
    expect(run.code, run.stderr).toBe(4);
    expect(run.stderr).toContain(
      'DEVKIT=true but the payload has no share/kata-containers/kata-containers-devkit-extension.img',
    );
    const after = await snapshotTree(temp.root);
    delete after['run/kata-deploy/lock'];
    delete before['run/kata-deploy/lock'];
    expect(after).toEqual(before);
  });

  it('installs -devkit handlers from a payload with the image, drops them without DEVKIT, uninstalls', async () => {
    temp = await makeTempRoot({ '/etc/containerd/config.toml': CONFIG, '/run/kata-deploy': { dir: true } });
    const before = await snapshotTree(temp.root);
    const on = await withDevkitPayload(temp.root, 'install', { DEBUG: 'true', DEVKIT: 'true' });
    expect(on.code, on.stderr).toBe(0);
    const dir = path.join(temp.root, 'opt/kata/share/defaults/kata-containers/custom-runtimes/kata-qemu-devkit');
    const dropIn = readFileSync(path.join(dir, 'config.d/25-devkit.toml'), 'utf8');
    expect(dropIn).toContain('path = "/opt/kata/share/kata-containers/kata-containers-devkit-extension.img"');
    expect(dropIn).toContain('verity_params = "root_hash=5a5a salt=01 data_blocks=1"');
    expect(readFileSync(path.join(temp.root, 'etc/containerd/config.toml'), 'utf8')).toContain('kata-qemu-devkit');

    const off = await withDevkitPayload(temp.root, 'install', { DEBUG: 'true' });
    expect(off.code, off.stderr).toBe(0);
    expect(existsSync(dir), 'the devkit variant dir goes with DEVKIT').toBe(false);
    expect(existsSync(dir.replace('-devkit', '-debug'))).toBe(true);
    expect(readFileSync(path.join(temp.root, 'etc/containerd/config.toml'), 'utf8')).not.toContain('kata-qemu-devkit');

    const removed = await withDevkitPayload(temp.root, 'uninstall', {});
    expect(removed.code, removed.stderr).toBe(0);
    const after = await snapshotTree(temp.root);
    delete after['run/kata-deploy/lock'];
    delete before['run/kata-deploy/lock'];
    expect(after).toEqual(before);
  });
});
