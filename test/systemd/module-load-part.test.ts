import { afterEach, describe, expect, it } from 'vitest';
import { kernelModulesFor } from '../../src/core/kernel-modules.js';
import { shimInfos } from '../../src/core/shims.js';
import { NodeHostFs } from '../../src/host/node-host-fs.js';
import { moduleLoadPart } from '../../src/wiring/module-load-part.js';
import { makeTempRoot, type TempRoot } from '../helpers/temp-root.js';
import { capturedLog } from '../helpers/captured-log.js';

const wanted = kernelModulesFor('x86_64', shimInfos(['qemu']), 'intel');
const before = { wanted, missing: ['vhost', 'vhost_net', 'vhost_vsock'] };
const settings = { restart: 'auto' as const, requireKvm: true, systemdSocket: '/run/systemd/private' };

describe('moduleLoadPart over a temp host root', () => {
  let root: TempRoot | undefined;
  afterEach(async () => root?.cleanup());

  it('still judges by /sys/module when systemd cannot be reached, naming why in the refusal', async () => {
    root = await makeTempRoot({ '/sys/module/kvm': { dir: true }, '/sys/module/kvm_intel': { dir: true } });
    const { log, records } = capturedLog();
    const part = moduleLoadPart(before, settings, new NodeHostFs(root.root), log);
    await expect(part.load()).rejects.toMatchObject({
      exitCode: 3,
      message: expect.stringMatching(/^kernel module\(s\) vhost_vsock missing after trying to restart systemd-modules/),
    });
    expect(records.some((line) => line.msg === 'could not restart the host unit that loads kernel modules')).toBe(true);
  });

  it('with --restart none loads nothing but still refuses; KATA_REQUIRE_KVM=false makes that a warning', async () => {
    root = await makeTempRoot({ '/sys/module/kvm': { dir: true } });
    const fs = new NodeHostFs(root.root);
    await expect(
      moduleLoadPart(before, { ...settings, restart: 'none' }, fs, capturedLog().log).load(),
    ).rejects.toMatchObject({ exitCode: 3, message: expect.stringContaining('--restart none (nothing loaded)') });
    const { log, records } = capturedLog();
    await moduleLoadPart(before, { ...settings, restart: 'none', requireKvm: false }, fs, log).load();
    expect(records.filter((line) => line.level === 40).map((line) => line.msg)).toEqual([
      'kernel module(s) vhost_vsock missing (KATA_REQUIRE_KVM=false): no Kata pod can start on this node until ' +
        'they are loaded (modprobe vhost_vsock)',
    ]);
  });
});
