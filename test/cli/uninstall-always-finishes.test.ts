import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempRoot, type TempRoot } from '../helpers/temp-root.js';
import { onTempRoot } from '../helpers/temp-root-cli.js';

const CONTAINERD_2 = path.resolve(import.meta.dirname, '../../.cache/containerd/sid/usr/bin/containerd');
const BROKEN = '\n[plugins\nbroken by hand = \n';

let temp: TempRoot | undefined;
afterEach(async () => {
  await temp?.cleanup();
  temp = undefined;
});

describe('uninstall always removes what is ours, and says what it could not prove', () => {
  it('cuts our handlers out of a config the operator broke on their own, and says it could not validate', async () => {
    temp = await makeTempRoot({ '/etc/containerd/config.toml': 'version = 2\n', '/run/lock': { dir: true } });
    expect((await onTempRoot(temp.root, 'install')).code).toBe(0);
    const config = path.join(temp.root, 'etc/containerd/config.toml');
    appendFileSync(config, BROKEN);
    const run = await onTempRoot(temp.root, 'uninstall', ['--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(readFileSync(config, 'utf8')).toBe(`version = 2\n${BROKEN}`);
    expect(JSON.parse(run.stdout).unproven).toEqual([
      expect.stringMatching(/^\/etc\/containerd\/config\.toml: containerd refuses it on its own/),
    ]);
    expect(existsSync(path.join(temp.root, 'opt/kata'))).toBe(false);
  });

  it("empties our drop-in instead of deleting it when the operator's imports name it", async () => {
    const dropIn = '/etc/containerd/conf.d/kata-deploy.toml';
    const main = `version = 3\nimports = ["${dropIn}"]\n`;
    temp = await makeTempRoot({ '/etc/containerd/config.toml': main, '/run/lock': { dir: true } });
    const installed = await onTempRoot(temp.root, 'install', ['--containerd-binary', CONTAINERD_2]);
    expect(installed.code, installed.stderr).toBe(0);
    expect(readFileSync(path.join(temp.root, dropIn), 'utf8')).toContain('kata-qemu');
    const run = await onTempRoot(temp.root, 'uninstall', ['--json', '--containerd-binary', CONTAINERD_2]);
    expect(run.code, run.stderr).toBe(0);
    expect(readFileSync(path.join(temp.root, 'etc/containerd/config.toml'), 'utf8')).toBe(main);
    expect(readFileSync(path.join(temp.root, dropIn), 'utf8')).not.toContain('kata-qemu');
  });
});
