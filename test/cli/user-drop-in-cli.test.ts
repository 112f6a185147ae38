import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { containerdBinaries } from '../helpers/containerd-binaries.js';
import { makeTempRoot, type TempRoot } from '../helpers/temp-root.js';
import { onTempRoot } from '../helpers/temp-root-cli.js';
import { snapshotTree as snapshotAll } from '../helpers/tree-snapshot.js';

/** As install-cli.test.ts: the lock file and the state dir's times are the run's own bookkeeping. */
async function snapshotTree(root: string): Promise<Record<string, string>> {
  const tree = await snapshotAll(root);
  delete tree['run/kata-deploy/lock'];
  const stateRoot = tree['var/lib/kata-deploy'];
  if (stateRoot !== undefined) tree['var/lib/kata-deploy'] = stateRoot.replace(/ m\S+ c\S+$/, '');
  return tree;
}

const V3_CONFIG = 'version = 3\n\n[plugins."io.containerd.cri.v1.images"]\n  snapshotter = "overlayfs"\n';
const V2_CONFIG =
  'version = 2\n\n[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "registry.k8s.io/pause:3.9"\n';
const USER_DROP_IN =
  '# operator tuning\nversion = 3\n[plugins."io.containerd.gc.v1.scheduler"]\n  pause_threshold = 0.03 # five\n';
const containerd2 = containerdBinaries().find((binary) => binary.version.startsWith('2.'));
const containerd1 = containerdBinaries().find((binary) => binary.version.startsWith('1.'));

/** The chart's ConfigMap mount: a directory of this "container", outside the host root. */
const mount = mkdtempSync(path.join(tmpdir(), 'kata-user-drop-in-'));
const source = path.join(mount, 'containerd-user-dropin.toml');
writeFileSync(source, USER_DROP_IN);
afterAll(() => rmSync(mount, { recursive: true, force: true }));

let temp: TempRoot | undefined;
afterEach(async () => {
  await temp?.cleanup();
  temp = undefined;
});

describe.skipIf(containerd2 === undefined)('CONTAINERD_USER_DROP_IN_SOURCE_FILE through the CLI', () => {
  const env = { CONTAINERD_USER_DROP_IN_SOURCE_FILE: source };
  const binary = ['--containerd-binary', containerd2?.path ?? ''];

  it('installs the copy beside our drop-in, records it in the ledger, converges, and uninstalls exactly', async () => {
    temp = await makeTempRoot({ '/etc/containerd/config.toml': V3_CONFIG, '/run/kata-deploy': { dir: true } });
    const before = await snapshotTree(temp.root);
    const first = await onTempRoot(temp.root, 'install', binary, env);
    expect(first.code, first.stderr).toBe(0);
    const copy = path.join(temp.root, 'etc/containerd/conf.d/zz-kata-deploy-user.toml');
    expect(await readFile(copy, 'utf8')).toBe(USER_DROP_IN);
    const main = await readFile(path.join(temp.root, 'etc/containerd/config.toml'), 'utf8');
    expect(main).toContain(
      '"/etc/containerd/conf.d/kata-deploy.toml", "/etc/containerd/conf.d/zz-kata-deploy-user.toml"',
    );
    const ledger = await readFile(path.join(temp.root, 'var/lib/kata-deploy/default/ledger.json'), 'utf8');
    expect(ledger).toContain('/etc/containerd/conf.d/zz-kata-deploy-user.toml');

    const second = await onTempRoot(temp.root, 'install', [...binary, '--json'], env);
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout).changes).toEqual([]);

    const removed = await onTempRoot(temp.root, 'uninstall', binary, env);
    expect(removed.code, removed.stderr).toBe(0);
    expect(await snapshotTree(temp.root)).toEqual(before);
  });

  it('exits 2 naming the variable when the file is missing, and changes nothing', async () => {
    temp = await makeTempRoot({ '/etc/containerd/config.toml': V3_CONFIG, '/run/kata-deploy': { dir: true } });
    const before = await snapshotTree(temp.root);
    const run = await onTempRoot(temp.root, 'install', binary, {
      CONTAINERD_USER_DROP_IN_SOURCE_FILE: path.join(mount, 'absent.toml'),
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('CONTAINERD_USER_DROP_IN_SOURCE_FILE');
    expect(run.stderr).toContain('absent.toml does not exist');
    expect(await snapshotTree(temp.root)).toEqual(before);
  });
});

describe.skipIf(containerd1 === undefined)('CONTAINERD_USER_DROP_IN_SOURCE_FILE on containerd 1.x', () => {
  it('exits 5 naming the file and why, and leaves the host as it was', async () => {
    temp = await makeTempRoot({ '/etc/containerd/config.toml': V2_CONFIG, '/run/kata-deploy': { dir: true } });
    const before = await snapshotTree(temp.root);
    const run = await onTempRoot(temp.root, 'install', ['--containerd-binary', containerd1?.path ?? ''], {
      CONTAINERD_USER_DROP_IN_SOURCE_FILE: source,
    });
    expect(run.code, run.stderr).toBe(5);
    expect(run.stderr).toContain(`CONTAINERD_USER_DROP_IN_SOURCE_FILE=${source}`);
    expect(run.stderr).toContain('replacing each plugin section it names as a whole');
    expect(await snapshotTree(temp.root)).toEqual(before);
  });
});
