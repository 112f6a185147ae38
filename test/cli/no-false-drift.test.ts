import { readFileSync } from 'node:fs';
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

/** A real containerd 1.7 serving the config the install left, at the host's runtime socket. */
async function serveInstalledConfig(root: string): Promise<void> {
  const installed = readFileSync(path.join(root, 'etc/containerd/config.toml'), 'utf8');
  containerd = await startPrivateContainerd(
    CONTAINERD_1_7,
    path.join(root, 'var/lib/test-containerd'),
    path.join(root, 'run/containerd/containerd.sock'),
    installed.replace(/^version = 2$/m, ''),
  );
}

describe('no permanent drift after an interrupted uninstall and a new install', () => {
  for (const failpoint of [
    'uninstall:after-runtime-config',
    'uninstall:after-commit',
    'uninstall:after-kata-configs',
    'uninstall:after-payload',
  ]) {
    it(`status is healthy after an uninstall killed at ${failpoint} and an install`, async () => {
      temp = await makeTempRoot({ '/etc/containerd/config.toml': 'version = 2\n', '/run/lock': { dir: true } });
      expect((await onTempRoot(temp.root, 'install')).code).toBe(0);
      const killed = await onTempRoot(temp.root, 'uninstall', [], { KATA_DEPLOY_TEST_FAILPOINT: failpoint });
      expect(killed.code).not.toBe(0);
      const again = await onTempRoot(temp.root, 'install');
      expect(again.code, again.stderr).toBe(0);
      await serveInstalledConfig(temp.root);
      const status = await onTempRoot(temp.root, 'status', ['--json', '--containerd-binary', CONTAINERD_1_7]);
      expect(JSON.parse(status.stdout).drift).toEqual([]);
      expect(status.code).toBe(0);
    });
  }
});
