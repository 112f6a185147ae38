import { afterEach, describe, expect, it } from 'vitest';
import { containerdCases, RUNC_ONLY } from '../helpers/throwaway-node/matrix.js';
import { startThrowawayNode, type ThrowawayNode } from '../helpers/throwaway-node/node.mjs';
import { samplePayload } from '../helpers/sample-payload.js';
import { logOf, nodeCli } from './node-cli.js';

const MODULES_FILE = '/etc/modules-load.d/kata-containers-default.conf';
const [first] = containerdCases();

// The node's /sys/module starts as this machine's (kvm, no vhost*); its systemd-modules-load.service is a
// stand-in user unit that "loads" by creating /sys/module/<name> (this machine has no /lib/modules).
describe.skipIf(first!.missing !== undefined)(
  `kernel modules loaded by the host's systemd-modules-load${first!.missing ? ` (skipped: ${first!.missing})` : ''}`,
  () => {
    let node: ThrowawayNode | undefined;
    afterEach(async () => {
      await node?.stop();
      node = undefined;
    });
    const options = () => ({ payload: samplePayload(), containerd: first!.binary!, shims: 'qemu' });

    it('install restarts systemd-modules-load over D-Bus once the file is written; uninstall removes it', async () => {
      node = await startThrowawayNode({ containerd: first!.binary!, config: RUNC_ONLY });
      expect((await node.stat('/sys/module/vhost_vsock')).exists).toBe(false);
      const run = await nodeCli(node, options(), 'install');
      expect(run.exitCode, logOf(run)).toBe(0);
      expect(await node.modulesLoadRuns()).toBe(1);
      expect(logOf(run)).toMatch(/loaded kernel module\(s\) (kvm_\w+, )?vhost, vhost_net, vhost_vsock$/m);
      expect((await node.stat('/sys/module/vhost_vsock')).isDirectory).toBe(true);
      expect((await node.readFile(MODULES_FILE))?.split('\n')).toContain('vhost_vsock');
      const again = await nodeCli(node, options(), 'install');
      expect(again.exitCode, logOf(again)).toBe(0);
      expect(await node.modulesLoadRuns()).toBe(1);
      const removal = await nodeCli(node, options(), 'uninstall');
      expect(removal.exitCode, logOf(removal)).toBe(0);
      expect((await node.stat(MODULES_FILE)).exists).toBe(false);
    });

    it('judges by /sys/module, not by the failed job: an optional module that cannot load is a warning', async () => {
      node = await startThrowawayNode({ containerd: first!.binary!, config: RUNC_ONLY, missingModules: ['vhost_net'] });
      const run = await nodeCli(node, options(), 'install');
      expect(run.exitCode, logOf(run)).toBe(0);
      expect(run.stderr).toMatch(/job failed/);
      expect(logOf(run)).toMatch(/loaded kernel module\(s\) (kvm_\w+, )?vhost, vhost_vsock$/m);
      expect(logOf(run)).toMatch(/optional kernel module\(s\) vhost_net not loaded/);
      expect(await node.containerdStarts()).toBe(2);
    });

    it('refuses a node that cannot load vhost_vsock: exit 3, every file put back, no runtime restart', async () => {
      node = await startThrowawayNode({
        containerd: first!.binary!,
        config: RUNC_ONLY,
        missingModules: ['vhost_vsock'],
      });
      const run = await nodeCli(node, options(), 'install');
      expect(run.exitCode, logOf(run)).toBe(3);
      expect(run.stderr).toMatch(/kernel module\(s\) vhost_vsock missing after restarting systemd-modules-load/);
      expect(run.stderr).toMatch(/modprobe vhost_vsock/);
      expect(await node.modulesLoadRuns()).toBe(1);
      expect((await node.stat(MODULES_FILE)).exists).toBe(false);
      expect(await node.readFile('/etc/containerd/config.toml')).toBe(RUNC_ONLY);
      expect((await node.stat('/opt/kata')).exists).toBe(false);
      expect((await node.stat('/etc/containerd/conf.d')).exists).toBe(false);
      expect((await node.stat('/var/lib/kata-deploy/default')).exists).toBe(false);
      expect(await node.containerdStarts()).toBe(1);

      const lab = await nodeCli(node, options(), 'install', [], { KATA_REQUIRE_KVM: 'false' });
      expect(lab.exitCode, logOf(lab)).toBe(0);
      expect(logOf(lab)).toMatch(/vhost_vsock missing \(KATA_REQUIRE_KVM=false\)/);
      // Installed and unchanged, but still no vhost_vsock: refused (exit 3) again, nothing touched.
      const config = await node.readFile('/etc/containerd/config.toml');
      const unchanged = await nodeCli(node, options(), 'install', ['--json']);
      expect(unchanged.exitCode, logOf(unchanged)).toBe(3);
      expect(await node.modulesLoadRuns()).toBe(3);
      expect(await node.readFile('/etc/containerd/config.toml')).toBe(config);
      expect((await node.readFile(MODULES_FILE))?.split('\n')).toContain('vhost_vsock');
      expect(await node.containerdStarts()).toBe(2);
    });
  },
);
