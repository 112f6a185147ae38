import { afterEach, describe, expect, it } from 'vitest';
import { makeTempRoot, type TempRoot } from '../helpers/temp-root.js';
import { onTempRoot } from '../helpers/temp-root-cli.js';
import { snapshotTree } from '../helpers/tree-snapshot.js';

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
});
