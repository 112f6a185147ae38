import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { podGrant, podScript } from '../helpers/pod-view.js';
import { samplePayload } from '../helpers/sample-payload.js';
import { containerdCases } from '../helpers/throwaway-node/matrix.js';
import { startThrowawayNode, type RunResult, type ThrowawayNode } from '../helpers/throwaway-node/node.mjs';
import { logOf } from './node-cli.js';

const CLI = path.resolve(import.meta.dirname, '../../dist/cli/main.js');
const CONFIG = `version = 2
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
`;
const CONFIG_FILE = '/etc/containerd/config.toml';

/**
 * Why each capability daemonset.yaml adds is there: the host state that needs it, and what a run without
 * it must say. A capability added to the manifest without an entry here fails the first test.
 */
const NEEDED_BY: Record<string, { readonly state: string; readonly step: RegExp }> = {
  // An operator's config owned by another user and group: the rewrite must keep them (fchown). Its mode is
  // set while the replacement is still root's, so no CAP_FOWNER is needed on top.
  CHOWN: {
    state: `chown 1000:1234 ${CONFIG_FILE} && chmod 0644 ${CONFIG_FILE}`,
    step: /cannot keep the owner 1000:1234 of \/etc\/containerd\/config\.toml .*needs CAP_CHOWN/,
  },
};

const grant = podGrant();
const debian = containerdCases().find((entry) => entry.label === 'containerd 1.6')!;

/**
 * The DaemonSet's container, short of a kubelet: uid 0 with only the manifest's capabilities and
 * no_new_privs, its root read-only, and of the node only the manifest's hostPath volumes under /host
 * (the node's systemd socket standing in for /run/systemd/private). The host's own containerd
 * (/usr/bin/containerd, the unit's binary) validates through /host/usr.
 */
describe.skipIf(debian.missing !== undefined)(
  `install → uninstall with only daemonset.yaml's privileges${debian.missing ? ` (skipped: ${debian.missing})` : ''}`,
  () => {
    let node: ThrowawayNode;
    const payload = samplePayload();
    // Inside the node's own tmpfs, so the pod dir goes with the node.
    const podDir = '/run/kata-containers/pod';

    const sources = () => ({ '/run/systemd/private': node.systemdSocket });
    const inPod = (
      command: string,
      without: readonly string[] = [],
      flags: string[] = [],
      omit: readonly string[] = [],
    ): Promise<RunResult> => {
      const argv = [process.execPath, CLI, command, '--host-root', `${podDir}/host`, '--payload', payload];
      const extra = ['--shims', 'qemu clh', '--log-format', 'json', '--readiness-timeout', '30', ...flags];
      const script = podScript(grant, podDir, [...argv, ...extra], { sources: sources(), without, omit });
      return node.run(script, { timeoutMs: 120_000 });
    };

    beforeAll(async () => {
      node = await startThrowawayNode({ containerd: debian.binary!, config: CONFIG });
      for (const cap of grant.capabilities) {
        const prepared = await node.run(['sh', '-c', NEEDED_BY[cap]?.state ?? 'true']);
        expect(prepared.exitCode, prepared.stderr).toBe(0);
      }
    });
    afterAll(async () => {
      await node?.stop();
    });

    it('grants only capabilities whose need is shown below, drops ALL, no escalation, a read-only root', () => {
      expect([...grant.capabilities].sort()).toEqual(Object.keys(NEEDED_BY).sort());
      expect(grant.noNewPrivs).toBe(true);
      expect(grant.readOnlyRoot).toBe(true);
    });

    it("runs the CLI with exactly the manifest's capabilities, no_new_privs, and only /host writable", async () => {
      const probe = [
        'setpriv --dump',
        'for set in CapEff CapPrm CapBnd; do',
        '  echo "$set $(capsh --decode=$(awk "/^$set:/{print \\$2}" /proc/self/status))"',
        'done',
        'for f in /etc/kata-probe /opt/kata-probe "$0/host/opt/kata-probe"; do',
        '  if touch "$f" 2>/dev/null; then echo "writable $f"; rm "$f"; else echo "read-only $f"; fi',
        'done',
      ].join('\n');
      const run = await node.run(podScript(grant, podDir, ['sh', '-c', probe, podDir], { sources: sources() }));
      expect(run.exitCode, run.stderr).toBe(0);
      const decoded = (set: string) => new RegExp(`^${set} 0x[0-9a-f]+=(.*)$`, 'm').exec(run.stdout)?.[1];
      const names = grant.capabilities.map((cap) => `cap_${cap.toLowerCase()}`).join(',');
      for (const set of ['CapEff', 'CapPrm', 'CapBnd']) expect(decoded(set), `${set}\n${run.stdout}`).toBe(names);
      expect(run.stdout).toContain('no_new_privs: 1');
      expect(run.stdout).toContain('read-only /etc/kata-probe');
      expect(run.stdout).toContain('read-only /opt/kata-probe');
      expect(run.stdout).toContain(`writable ${podDir}/host/opt/kata-probe`);
    });

    it('installs with handlers live (status agrees) and uninstalls to the exact bytes and owner', async () => {
      const installed = await inPod('install');
      expect(installed.exitCode, logOf(installed)).toBe(0);
      expect(installed.stderr).not.toMatch(/EROFS|read-only file system/);
      expect(await node.readFile(CONFIG_FILE)).toContain('kata-qemu');
      expect(await node.containerdStarts()).toBe(2);
      const status = await inPod('status', [], ['--json']);
      expect(status.exitCode, status.stdout).toBe(0);
      expect(JSON.parse(status.stdout).live.handlers).toEqual(expect.arrayContaining(['kata-qemu', 'kata-clh']));
      const removed = await inPod('uninstall');
      expect(removed.exitCode, logOf(removed)).toBe(0);
      expect(await node.readFile(CONFIG_FILE)).toBe(CONFIG);
      const owner = await node.run(['stat', '-c', '%u:%g %a', CONFIG_FILE]);
      expect(owner.stdout.trim()).toBe(grant.capabilities.includes('CHOWN') ? '1000:1234 644' : '0:0 644');
      expect((await node.stat('/opt/kata')).exists).toBe(false);
      expect((await node.stat('/var/lib/kata-deploy/default')).exists).toBe(false);
    });

    it('names the path (exit 5, not "a bug") when a host path the install writes is not mounted', async () => {
      const run = await inPod('install', [], [], ['/var/lib/kata-deploy']);
      expect(run.exitCode, logOf(run)).toBe(5);
      expect(logOf(run)).toMatch(/EROFS: read-only file system, mkdir '\S*\/host\/var\/lib\/kata-deploy'/);
      expect(run.stderr).toContain('mount it read-write into the pod');
      expect(await node.readFile(CONFIG_FILE)).toBe(CONFIG);
    });

    it('names the path, not a stack trace, where root without CAP_DAC_OVERRIDE may not write (exit 5)', async () => {
      await node.run(['chmod', '0555', '/opt']);
      try {
        const run = await inPod('install');
        expect(run.exitCode, logOf(run)).toBe(5);
        expect(logOf(run)).toMatch(/EACCES: permission denied, mkdir '\S*\/host\/opt\/\.kata-deploy-staging/);
        expect(run.stderr).toContain('root has no CAP_DAC_OVERRIDE');
        expect(run.stderr).not.toMatch(/\n\s+at /);
        expect(await node.readFile(CONFIG_FILE)).toBe(CONFIG);
      } finally {
        await node.run(['chmod', '0755', '/opt']);
      }
    });

    for (const cap of grant.capabilities) {
      it(`without CAP_${cap} the install stops at the step that needs it, saying so, and changes nothing`, async () => {
        const starts = await node.containerdStarts();
        const run = await inPod('install', [cap]);
        expect(run.exitCode, logOf(run)).toBe(5);
        expect(logOf(run)).toMatch(NEEDED_BY[cap]!.step);
        expect(run.stderr).not.toMatch(/\n\s+at /);
        expect(await node.readFile(CONFIG_FILE)).toBe(CONFIG);
        expect((await node.stat('/opt/kata')).exists).toBe(false);
        expect(await node.containerdStarts()).toBe(starts);
      });
    }
  },
);
