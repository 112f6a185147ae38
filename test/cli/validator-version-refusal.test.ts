import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startPrivateContainerd, type PrivateContainerd } from '../helpers/private-containerd.js';
import { makeTempRoot, type TempRoot } from '../helpers/temp-root.js';
import { onTempRoot } from '../helpers/temp-root-cli.js';
import { snapshotTree } from '../helpers/tree-snapshot.js';

const CONTAINERD_1_7 = path.resolve(import.meta.dirname, '../../.cache/containerd/trixie/usr/bin/containerd');
const CONTAINERD_1_6 = '/usr/bin/containerd';

let temp: TempRoot | undefined;
let state: string | undefined;
let daemon: PrivateContainerd | undefined;
afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
  await temp?.cleanup();
  temp = undefined;
  if (state !== undefined) await rm(state, { recursive: true, force: true });
  state = undefined;
});

/** The host without /run, where the test's own daemon keeps its socket and the run its lock. */
async function hostFiles(root: string): Promise<Record<string, string>> {
  const tops = (await readdir(root)).filter((name) => name !== 'run').sort();
  const trees = await Promise.all(
    tops.map(async (top) => [top, await snapshotTree(path.join(root, top), { times: true })]),
  );
  return Object.fromEntries(trees);
}

describe('a validator of another release line than the running containerd', () => {
  it('is refused with exit 5 naming the binary, and the host is left exactly as it was', async () => {
    temp = await makeTempRoot({ '/etc/containerd/config.toml': 'version = 2\n', '/run/kata-deploy': { dir: true } });
    state = await mkdtemp(path.join(tmpdir(), 'kata-version-refusal-'));
    daemon = await startPrivateContainerd(
      CONTAINERD_1_7,
      state,
      path.join(temp.root, 'run/containerd/containerd.sock'),
    );
    const before = await hostFiles(temp.root);

    const run = await onTempRoot(temp.root, 'install', ['--containerd-binary', CONTAINERD_1_6]);

    expect(run.code, run.stderr).toBe(5);
    expect(run.stderr).toContain(`the running containerd is 1.7`);
    expect(run.stderr).toContain(`(${CONTAINERD_1_6}) is 1.6`);
    expect(await hostFiles(temp.root)).toEqual(before);
  });
});
