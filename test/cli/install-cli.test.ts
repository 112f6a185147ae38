import { execFile } from 'node:child_process';
import { copyFileSync, linkSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeTempRoot, type TempRoot } from '../helpers/temp-root.js';
import { samplePayload } from '../helpers/sample-payload.js';
import { snapshotTree as snapshotAll } from '../helpers/tree-snapshot.js';

/**
 * The host as a comparison sees it. The flock file in /run/kata-deploy is the one thing a run leaves: deleting
 * a lock file after unlocking races with a run that already opened it, and /run is cleared at boot.
 * The times of /run/kata-deploy itself do not count: every run's config validation creates and removes a
 * scratch dir in it (its contents, modes and every other time, /var/lib/kata-deploy's included, still count).
 */
async function snapshotTree(root: string, options: { times?: boolean } = {}): Promise<Record<string, string>> {
  const tree = await snapshotAll(root, options);
  delete tree['run/kata-deploy/lock'];
  return withoutRunDirTimes(tree);
}

/** A snapshot without the times of /run/kata-deploy, where each run's validation scratch dir comes and goes. */
function withoutRunDirTimes(tree: Record<string, string>): Record<string, string> {
  const runDir = tree['run/kata-deploy'];
  return runDir === undefined ? tree : { ...tree, 'run/kata-deploy': runDir.replace(/ m\S+ c\S+$/, '') };
}

const CLI = path.resolve(import.meta.dirname, '../../dist/cli/main.js');
const CONFIG =
  '# operator\'s own config\r\nversion = 2\r\n\r\n[plugins."io.containerd.grpc.v1.cri"]\r\n  sandbox_image = ' +
  '"registry.k8s.io/pause:3.9"\r\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\r\n  runtime_type = ' +
  '"io.containerd.runc.v2"\r\n\r\n';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let payload: string;
beforeAll(() => {
  payload = samplePayload();
});

let temp: TempRoot | undefined;
afterEach(async () => {
  await temp?.cleanup();
  temp = undefined;
});

function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { PATH: process.env.PATH ?? '', LOG_FORMAT: 'json', ...env } },
      (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : ((error as { code?: number }).code ?? 1), stdout, stderr });
      },
    );
  });
}

/** A node without a running runtime: KVM check off, restart off, so the file work is what is tested. */
function onTempRoot(command: string, extra: string[] = []): Promise<Run> {
  return cli(
    [command, '--host-root', temp!.root, '--payload', payload, '--shims', 'qemu clh', '--restart', 'none', ...extra],
    { KATA_REQUIRE_KVM: 'false' },
  );
}

describe('install and uninstall on a temp host root', () => {
  it('installs, converges on a second run, and uninstalls back to the exact bytes', async () => {
    temp = await makeTempRoot({ '/etc/containerd/config.toml': CONFIG, '/run/kata-deploy': { dir: true } });
    const before = await snapshotTree(temp.root);
    const first = await onTempRoot('install', ['--json']);
    expect(first.code, first.stderr).toBe(0);
    const result = JSON.parse(first.stdout);
    expect(result.handlers).toEqual(['kata-qemu', 'kata-clh']);
    expect(result.restart).toMatchObject({ restart: false, performed: false });
    expect(result.restart.reason).toMatch(/--restart none/);
    const config = await readFile(path.join(temp.root, 'etc/containerd/config.toml'), 'utf8');
    expect(config.startsWith(CONFIG)).toBe(true);
    expect(config).toContain('kata-qemu');

    const installed = await snapshotTree(temp.root, { times: true });
    const second = JSON.parse((await onTempRoot('install', ['--json'])).stdout);
    expect(second.changes).toEqual([]);
    expect(second.payload.changed).toBe(false);
    expect(await snapshotTree(temp.root, { times: true }), 'a converged install writes nothing at all').toEqual(
      installed,
    );

    const removed = await onTempRoot('uninstall');
    expect(removed.code, removed.stderr).toBe(0);
    expect(await snapshotTree(temp.root)).toEqual(before);
    const again = await onTempRoot('uninstall', ['--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).nothingInstalled).toBe(true);
  });

  it("removes a killed older run's scratch dir from the state dir, and puts its own beside the lock", async () => {
    temp = await makeTempRoot({
      '/etc/containerd/config.toml': CONFIG,
      '/run/kata-deploy': { dir: true },
      '/var/lib/kata-deploy/.scratch-dead01/etc/containerd/config.toml': CONFIG,
    });
    const run = await onTempRoot('install', ['--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(await readdir(path.join(temp.root, 'var/lib/kata-deploy'))).toEqual(['default']);
    expect(await readdir(path.join(temp.root, 'run/kata-deploy')), 'its own scratch dir is gone too').toEqual(['lock']);
  });

  it('prints the plan with --dry-run and writes nothing', async () => {
    temp = await makeTempRoot({ '/etc/containerd/config.toml': CONFIG, '/run/kata-deploy': { dir: true } });
    const before = withoutRunDirTimes(await snapshotAll(temp.root, { times: true }));
    const run = await onTempRoot('install', ['--dry-run']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^payload: install/m);
    expect(run.stdout).toContain('+ /opt/kata/share/defaults/kata-containers/runtimes/qemu/configuration-qemu.toml');
    expect(run.stdout).toContain('--- a/etc/containerd/config.toml');
    expect(run.stdout).toMatch(/^\+.*runtimes\.kata-qemu\]/m);
    expect(withoutRunDirTimes(await snapshotAll(temp.root, { times: true })), 'not even a lock file').toEqual(before);
  });

  it('reports status 8 when installed but the runtime does not answer', async () => {
    temp = await makeTempRoot({ '/etc/containerd/config.toml': CONFIG, '/run/kata-deploy': { dir: true } });
    expect((await onTempRoot('install')).code).toBe(0);
    const run = await onTempRoot('status', ['--json']);
    expect(run.code).toBe(8);
    expect(JSON.parse(run.stdout).drift).toContain('the runtime did not answer over its socket');
  });
});

describe('refusals leave the host exactly as it was', () => {
  it('refuses a node without usable KVM with exit 3', async () => {
    temp = await makeTempRoot({ '/etc/containerd/config.toml': CONFIG, '/run/kata-deploy': { dir: true } });
    const before = await snapshotTree(temp.root);
    const run = await cli(['install', '--host-root', temp.root, '--payload', payload, '--restart', 'none']);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/cannot run Kata VMs: \/dev\/kvm does not exist/);
    expect(await snapshotTree(temp.root)).toEqual(before);
  });

  it('refuses a broken containerd config with exit 5 naming the file', async () => {
    temp = await makeTempRoot({
      '/etc/containerd/config.toml': 'version = 2\n[plugins\n',
      '/run/kata-deploy': { dir: true },
    });
    const before = await snapshotTree(temp.root);
    const run = await onTempRoot('install');
    expect(run.code).toBe(5);
    expect(run.stderr).toContain('/etc/containerd/config.toml');
    expect(await snapshotTree(temp.root)).toEqual(before);
  });

  it('refuses a payload that is not an archive with exit 4', async () => {
    temp = await makeTempRoot({
      '/etc/containerd/config.toml': CONFIG,
      '/payload.tar.zst': 'not an archive at all',
      '/run/kata-deploy': { dir: true },
    });
    const before = await snapshotTree(temp.root);
    const run = await cli(
      ['install', '--host-root', temp.root, '--payload', path.join(temp.root, 'payload.tar.zst'), '--restart', 'none'],
      { KATA_REQUIRE_KVM: 'false' },
    );
    expect(run.code).toBe(4);
    expect(await snapshotTree(temp.root)).toEqual(before);
  });

  it('refuses a wrong checksum with exit 4', async () => {
    temp = await makeTempRoot({ '/etc/containerd/config.toml': CONFIG, '/run/kata-deploy': { dir: true } });
    const before = await snapshotTree(temp.root);
    const run = await onTempRoot('install', ['--payload-sha256', '0'.repeat(64)]);
    expect(run.code).toBe(4);
    expect(run.stderr).toMatch(/sha256/);
    expect(await snapshotTree(temp.root)).toEqual(before);
  });
});

describe('a second install with another suffix', () => {
  it('lives beside the first and leaves it intact on its own uninstall', async () => {
    temp = await makeTempRoot({ '/etc/containerd/config.toml': CONFIG, '/run/kata-deploy': { dir: true } });
    expect((await onTempRoot('install')).code).toBe(0);
    const withFirst = await readFile(path.join(temp.root, 'etc/containerd/config.toml'));
    const second = await onTempRoot('install', ['--multi-install-suffix', 'dev']);
    expect(second.code, second.stderr).toBe(0);
    const both = await readFile(path.join(temp.root, 'etc/containerd/config.toml'), 'utf8');
    expect(both).toContain('kata-qemu-dev');
    expect((await onTempRoot('uninstall', ['--multi-install-suffix', 'dev'])).code).toBe(0);
    expect((await readFile(path.join(temp.root, 'etc/containerd/config.toml'))).equals(withFirst)).toBe(true);
    await writeFile(path.join(temp.root, 'marker'), '');
  });
});

describe('changing the shims of an installed node', () => {
  it("drops a shim's handler on reinstall and still uninstalls to the exact bytes", async () => {
    temp = await makeTempRoot({ '/etc/containerd/config.toml': CONFIG, '/run/kata-deploy': { dir: true } });
    const before = await snapshotTree(temp.root);
    expect((await onTempRoot('install')).code).toBe(0);
    const fewer = await cli(
      ['install', '--host-root', temp.root, '--payload', payload, '--shims', 'qemu', '--restart', 'none'],
      { KATA_REQUIRE_KVM: 'false' },
    );
    expect(fewer.code, fewer.stderr).toBe(0);
    const config = await readFile(path.join(temp.root, 'etc/containerd/config.toml'), 'utf8');
    expect(config).toContain('kata-qemu');
    expect(config).not.toContain('kata-clh');
    const removed = await cli(
      ['uninstall', '--host-root', temp.root, '--payload', payload, '--shims', 'qemu', '--restart', 'none'],
      { KATA_REQUIRE_KVM: 'false' },
    );
    expect(removed.code, removed.stderr).toBe(0);
    expect(await snapshotTree(temp.root)).toEqual(before);
  });
});

describe('a host root that mounts /usr but not the libraries (the DaemonSet)', () => {
  it("validates with the host's containerd run directly when the host root lacks its loader", async () => {
    temp = await makeTempRoot({
      '/etc/containerd/config.toml': CONFIG,
      '/run/kata-deploy': { dir: true },
      '/usr/bin': { dir: true },
    });
    try {
      linkSync('/usr/bin/containerd', path.join(temp.root, 'usr/bin/containerd'));
    } catch {
      copyFileSync('/usr/bin/containerd', path.join(temp.root, 'usr/bin/containerd'));
    }
    const run = await onTempRoot('install');
    expect(run.code, run.stderr).toBe(0);
    expect(await readFile(path.join(temp.root, 'etc/containerd/config.toml'), 'utf8')).toContain('kata-qemu');
    expect((await onTempRoot('uninstall')).code).toBe(0);
  });

  it('exits 5 naming the path, not 1 ("a bug"), when the runtime config is a directory', async () => {
    temp = await makeTempRoot({ '/etc/containerd/config.toml': { dir: true }, '/run/kata-deploy': { dir: true } });
    const before = await snapshotTree(temp.root);
    const run = await onTempRoot('install');
    expect(run.code, run.stderr).toBe(5);
    expect(run.stderr).toContain('config.toml');
    expect(run.stderr).not.toMatch(/this is a bug/);
    expect(await snapshotTree(temp.root)).toEqual(before);
  });
});
