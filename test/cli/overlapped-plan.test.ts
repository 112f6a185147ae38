import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { minimalPayload } from '../payload/fixtures.js';
import { compress, craftTar, type CraftEntry } from '../helpers/tar-craft.js';
import { makeTempRoot, type TempRoot } from '../helpers/temp-root.js';
import { snapshotTree as snapshotAll } from '../helpers/tree-snapshot.js';

// The install plans its configs (and has containerd validate them) while the payload still unpacks, as soon
// as the pristine configs are read. A failure on either side of that overlap must still leave the host
// exactly as it was, and a bad payload must still be refused as such (exit 4), whatever the plan did.

const CLI = path.resolve(import.meta.dirname, '../../dist/cli/main.js');
const K = './opt/kata';
const CONFIG =
  'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n' +
  '  runtime_type = "io.containerd.runc.v2"\n';
const QEMU_CONFIG = `${K}/share/defaults/kata-containers/configuration-qemu.toml`;

interface Run {
  readonly code: number;
  readonly stderr: string;
}

let temp: TempRoot | undefined;
afterEach(async () => {
  await temp?.cleanup();
  temp = undefined;
});

/** The host as install-cli.test.ts compares it: the lock file and the times of /run/kata-deploy aside. */
async function snapshot(root: string): Promise<Record<string, string>> {
  const tree = await snapshotAll(root, { times: true });
  delete tree['run/kata-deploy/lock'];
  const runDir = tree['run/kata-deploy'];
  return runDir === undefined ? tree : { ...tree, 'run/kata-deploy': runDir.replace(/ m\S+ c\S+$/, '') };
}

async function hostWith(config: string, entries: readonly CraftEntry[]): Promise<string> {
  temp = await makeTempRoot({ '/etc/containerd/config.toml': config, '/run/kata-deploy': { dir: true } });
  const payload = path.join(path.dirname(temp.root), `${path.basename(temp.root)}-payload.tar.zst`);
  writeFileSync(payload, compress(craftTar(entries), 'zst'));
  return payload;
}

function install(payload: string): Promise<Run> {
  const args = ['install', '--host-root', temp!.root, '--payload', payload, '--shims', 'qemu qemu-runtime-rs'];
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args, '--restart', 'none', '--log-level', 'debug'],
      { env: { PATH: process.env.PATH ?? '', LOG_FORMAT: 'json', KATA_REQUIRE_KVM: 'false' } },
      (error, _stdout, stderr) =>
        resolve({ code: error === null ? 0 : ((error as { code?: number }).code ?? 1), stderr }),
    );
  });
}

/** The debug log's lines, in order. */
function entries(stderr: string): { msg: string; planStarted?: boolean }[] {
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { msg: string; planStarted?: boolean });
}

function phases(stderr: string): string[] {
  return entries(stderr).map((entry) => entry.msg);
}

/** A member after every pristine config that the unpack refuses: a file written through a symlink. */
const THROUGH_SYMLINK: CraftEntry = { name: `${K}/share/kata-containers/vmlinuz.container/evil`, body: 'x' };

describe('an install whose plan overlaps the unpack', () => {
  it('starts planning before the unpack ends, and installs', async () => {
    const payload = await hostWith(CONFIG, minimalPayload());
    const run = await install(payload);
    expect(run.code, run.stderr).toBe(0);
    const staged = entries(run.stderr).find((entry) => entry.msg === 'phase: payload staged');
    expect(staged?.planStarted).toBe(true);
  });

  it('refuses a bad member after the configs (exit 4) once the plan settles; host as it was', async () => {
    const payload = await hostWith(CONFIG, minimalPayload({ extra: [THROUGH_SYMLINK] }));
    const before = await snapshot(temp!.root);
    const run = await install(payload);
    expect(run.code, run.stderr).toBe(4);
    expect(run.stderr).toContain('is written through the symlink');
    expect(phases(run.stderr)).toContain('phase: runtime config planned and validated');
    expect(await snapshot(temp!.root)).toEqual(before);
  });

  it('refuses a later copy of a config that differs from the one planned from (exit 4), host unchanged', async () => {
    const duplicate: CraftEntry = { name: QEMU_CONFIG, body: '[hypervisor.qemu]\npath = "/elsewhere"\n' };
    const payload = await hostWith(CONFIG, minimalPayload({ extra: [duplicate] }));
    const before = await snapshot(temp!.root);
    const run = await install(payload);
    expect(run.code, run.stderr).toBe(4);
    expect(run.stderr).toContain('conflicting duplicate');
    expect(phases(run.stderr)).toContain('phase: Kata configs planned');
    expect(await snapshot(temp!.root)).toEqual(before);
  });

  it('refuses a config containerd rejects with exit 5 while the payload unpacks; staging is gone', async () => {
    const payload = await hostWith('version = 2\n[plugins\n', minimalPayload());
    const before = await snapshot(temp!.root);
    const run = await install(payload);
    expect(run.code, run.stderr).toBe(5);
    expect(run.stderr).toContain('/etc/containerd/config.toml');
    expect(await snapshot(temp!.root)).toEqual(before);
  });

  it('reports the bad payload (exit 4), not the refused config, when both are wrong', async () => {
    const payload = await hostWith('version = 2\n[plugins\n', minimalPayload({ extra: [THROUGH_SYMLINK] }));
    const before = await snapshot(temp!.root);
    const run = await install(payload);
    expect(run.code, run.stderr).toBe(4);
    expect(await snapshot(temp!.root)).toEqual(before);
  });
});
