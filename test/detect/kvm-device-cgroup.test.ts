import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeTempRoot, type TempRoot } from '../helpers/temp-root.js';
import { samplePayload } from '../helpers/sample-payload.js';
import { snapshotTree } from '../helpers/tree-snapshot.js';

const CLI = path.resolve(import.meta.dirname, '../../dist/cli/main.js');
const DEVICES = '/sys/fs/cgroup/devices';

const missing =
  process.getuid?.() !== 0
    ? 'needs root (cgroup and mknod)'
    : !existsSync(path.join(DEVICES, 'devices.deny'))
      ? 'needs the cgroup v1 devices controller at /sys/fs/cgroup/devices'
      : !existsSync('/dev/kvm')
        ? 'needs /dev/kvm'
        : undefined;

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI, inside `cgroup` when given (the shell joins it, then execs Node, so Node runs there). */
function cli(cgroup: string | undefined, args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  const node = [process.execPath, CLI, ...args];
  const [file, argv] =
    cgroup === undefined
      ? [node[0]!, node.slice(1)]
      : ['sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', cgroup, ...node]];
  return new Promise((resolve) => {
    execFile(file, argv, { env: { PATH: process.env.PATH ?? '', LOG_FORMAT: 'json', ...env } }, (error, out, err) =>
      resolve({ code: error === null ? 0 : ((error as { code?: number }).code ?? 1), stdout: out, stderr: err }),
    );
  });
}

/**
 * An unprivileged pod's device cgroup, for real: a child of the devices controller that denies
 * c 10:232 (what the kubelet's runtime allows a non-privileged container: no /dev/kvm).
 */
describe.skipIf(missing !== undefined)(
  `KVM detection under a device cgroup that denies /dev/kvm${missing ? ` (skipped: ${missing})` : ''}`,
  () => {
    const cgroup = path.join(DEVICES, `kata-deploy-kvm-deny-${process.pid}-${randomBytes(3).toString('hex')}`);
    let temp: TempRoot | undefined;

    beforeAll(() => {
      mkdirSync(cgroup);
      writeFileSync(path.join(cgroup, 'devices.deny'), 'c 10:232 rwm');
    });
    afterAll(() => {
      // Every process that joined has exited (each run is awaited); an empty cgroup is removed with rmdir.
      if (existsSync(cgroup)) rmdirSync(cgroup);
    });
    afterEach(async () => {
      await temp?.cleanup();
      temp = undefined;
    });

    it('outside the cgroup, the same node proves KVM by ioctl (the control)', async () => {
      const run = await cli(undefined, ['detect', '--json', '--host-root', '/']);
      expect(run.code, run.stderr).toBe(0);
      const kvm = JSON.parse(run.stdout).kvm;
      expect(kvm).toMatchObject({ usable: true, proven: true });
      expect(kvm.unproven).toBeUndefined();
      expect(kvm.evidence).toContain('KVM_CREATE_VM succeeded');
    });

    it('inside it, reports what it proves without opening /dev/kvm and what the proof needs', async () => {
      const run = await cli(cgroup, ['detect', '--json', '--host-root', '/']);
      expect(run.code, run.stderr).toBe(0);
      const kvm = JSON.parse(run.stdout).kvm;
      expect(kvm).toMatchObject({ present: true, usable: true, proven: false });
      expect(kvm.evidence).toContain('/dev/kvm is character device 10:232');
      expect(kvm.evidence.join('\n')).toMatch(/kernel modules loaded: kvm\b/);
      expect(kvm.evidence.join('\n')).toMatch(/cannot open \/dev\/kvm: EPERM.*device cgroup/);
      expect(kvm.unproven).toMatch(/needs a privileged pod or bare metal/);
      expect(kvm.unproven).toContain('KATA_REQUIRE_KVM_PROOF=true');
      expect(run.stderr).toContain('KVM is taken as usable without proof');
    });

    const nodeWithKvm = async () => {
      temp = await makeTempRoot({
        '/etc/containerd/config.toml': 'version = 2\n',
        '/run/kata-deploy': { dir: true },
        '/sys/module/kvm/parameters/halt_poll_ns': '200000\n',
        '/sys/module/kvm_intel/parameters/nested': 'Y\n',
        '/dev': { dir: true },
      });
      execFileSync('mknod', [path.join(temp.root, 'dev/kvm'), 'c', '10', '232']);
      return temp.root;
    };
    // Everything but /dev (the snapshot reads files, and /dev/kvm is a device).
    const hostFiles = async (root: string) => ({
      top: readdirSync(root).sort(),
      ...(await snapshotTree(path.join(root, 'etc'))),
      ...(await snapshotTree(path.join(root, 'run'))),
      ...(await snapshotTree(path.join(root, 'sys'))),
    });
    const install = (root: string, env: Record<string, string>) =>
      cli(
        cgroup,
        ['install', '--host-root', root, '--payload', samplePayload(), '--shims', 'qemu', '--restart', 'none'],
        env,
      );

    it('KATA_REQUIRE_KVM_PROOF=true refuses the install with exit 3 and changes nothing', async () => {
      const root = await nodeWithKvm();
      const before = await hostFiles(root);
      const run = await install(root, { KATA_REQUIRE_KVM_PROOF: 'true' });
      expect(run.code, run.stderr).toBe(3);
      expect(run.stderr).toMatch(/KVM is not proven on this node: .*EPERM/);
      expect(run.stderr).toContain('privileged pod');
      expect(run.stderr).not.toMatch(/\n\s+at /);
      expect(await hostFiles(root)).toEqual(before);
    });

    it('by default installs, warning that KVM was not proven and naming the module parameters', async () => {
      const root = await nodeWithKvm();
      const run = await install(root, {});
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toMatch(/KVM is taken as usable without proof: .*kvm, kvm_intel are loaded/);
      const detect = await cli(cgroup, ['detect', '--json', '--host-root', root]);
      expect(JSON.parse(detect.stdout).kvm.evidence).toContain('kvm_intel parameters: nested=Y');
    });
  },
);
