import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { samplePayload } from '../helpers/sample-payload.js';
import { containerdCases, RUNC_ONLY } from '../helpers/throwaway-node/matrix.js';
import { startThrowawayNode, type ThrowawayNode } from '../helpers/throwaway-node/node.mjs';
import { logOf, type NodeCliOptions, nodeCli } from './node-cli.js';

const ROOT = path.join(import.meta.dirname, '..', '..');
const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
const NODE_PROGRAMS = /^(node|nodejs|npm|npx|corepack)(\d+)?$/;

/**
 * A PATH with every program of the usual bin dirs except Node and its tools, so the standalone binary
 * runs as on a node where no Node.js is installed (this machine has Node 20 in /usr/bin).
 */
function pathWithoutNode(dir: string): string {
  mkdirSync(dir);
  for (const bin of ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
    let names: string[];
    try {
      names = readdirSync(bin);
    } catch {
      continue;
    }
    for (const name of names) {
      if (NODE_PROGRAMS.test(name)) continue;
      try {
        symlinkSync(path.join(bin, name), path.join(dir, name));
      } catch {
        // the same name in an earlier dir wins, as on PATH
      }
    }
  }
  return dir;
}

const first = containerdCases()[0]!;
const skipped = first.missing === undefined ? '' : ` (skipped: ${first.missing})`;
describe.skipIf(first.missing !== undefined)(
  `standalone binary (Node SEA) with no Node on PATH, on a real node${skipped}`,
  () => {
    let dir: string;
    let binary: string;
    let env: Record<string, string>;
    let node: ThrowawayNode;
    let options: NodeCliOptions;

    beforeAll(async () => {
      dir = mkdtempSync(path.join(tmpdir(), 'kata-deploy-standalone-test-'));
      execFileSync(process.execPath, [path.join(ROOT, 'scripts/standalone.mjs'), path.join(dir, 'out')], {
        stdio: 'pipe',
      });
      binary = path.join(dir, 'out', 'kata-deploy');
      mkdirSync(path.join(dir, 'tmp'));
      env = { PATH: pathWithoutNode(path.join(dir, 'bin')), TMPDIR: path.join(dir, 'tmp') };
      node = await startThrowawayNode({ containerd: first.binary!, config: RUNC_ONLY });
      options = { payload: samplePayload(), containerd: first.binary!, cli: [binary], env };
    }, 240_000);
    afterAll(async () => {
      await node?.stop();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    });

    it('is one file, and no node program is reachable on the PATH it runs with', () => {
      expect(readdirSync(path.join(dir, 'out'))).toEqual(['kata-deploy']);
      expect(spawnSync('sh', ['-c', 'command -v node || command -v nodejs'], { env }).status).not.toBe(0);
      expect(spawnSync('sh', ['-c', 'command -v tar && command -v zstd'], { env }).status).toBe(0);
    });

    it("prints package.json's version for --version and -V", () => {
      for (const flag of ['--version', '-V'])
        expect(execFileSync(binary, [flag], { env, encoding: 'utf8', cwd: dir })).toBe(`${version}\n`);
    });

    it('compiles the full CLI from the code cache the build made (V8 accepts it: same Node, same flags)', () => {
      const run = spawnSync(binary, ['install', '--help'], {
        env: { ...env, NODE_DEBUG: 'kata-deploy-sea' },
        encoding: 'utf8',
        cwd: dir,
      });
      expect(run.status, run.stderr).toBe(0);
      expect(run.stderr).toMatch(/code cache for kata-deploy-cli\.cjs accepted/);
    });

    it('detects the node, proving KVM through koffi loaded from the embedded asset', async () => {
      const run = await nodeCli(node, options, 'detect', ['--json']);
      expect(run.exitCode, logOf(run)).toBe(0);
      const report = JSON.parse(run.stdout);
      expect(report.runtime.flavour).toBe('containerd');
      if (process.getuid?.() === 0) expect(report.kvm.evidence).toContain('KVM_GET_API_VERSION = 12');
    });

    it("falls back to /var/tmp for koffi's native module when TMPDIR is mounted noexec", () => {
      const noexec = path.join(dir, 'noexec');
      mkdirSync(noexec);
      const leftovers = () => readdirSync('/var/tmp').filter((name) => name.startsWith('kata-deploy-standalone-'));
      const before = leftovers();
      const script = 'mount -t tmpfs -o noexec tmpfs "$1" && exec "$2" detect --json';
      const run = spawnSync(
        'unshare',
        ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', noexec, binary],
        {
          env: { ...env, TMPDIR: noexec },
          encoding: 'utf8',
        },
      );
      expect(run.status, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout).kvm.evidence).toContain('KVM_GET_API_VERSION = 12');
      expect(leftovers()).toEqual(before);
    });

    it('installs: handlers live after one containerd restart', async () => {
      const run = await nodeCli(node, options, 'install', ['--json']);
      expect(run.exitCode, logOf(run)).toBe(0);
      expect(JSON.parse(run.stdout).readiness.ready).toBe(true);
      expect(await node.containerdStarts()).toBe(2);
    });

    it('reports the install live and without drift', async () => {
      const run = await nodeCli(node, options, 'status', ['--json']);
      expect(run.exitCode, logOf(run)).toBe(0);
      const report = JSON.parse(run.stdout);
      expect(report).toMatchObject({ installed: true, healthy: true, drift: [] });
      expect(report.live.handlers).toEqual(expect.arrayContaining(['runc', 'kata-qemu', 'kata-clh']));
    });

    it('uninstalls (pretty logs: pino workers from the embedded assets): config back byte for byte', async () => {
      const run = await nodeCli(node, options, 'uninstall', ['--log-format', 'pretty']);
      expect(run.exitCode, run.stderr).toBe(0);
      expect(run.stderr).toMatch(/INFO.*: Kata is uninstalled/);
      expect(await node.readFile('/etc/containerd/config.toml')).toBe(RUNC_ONLY);
      expect((await node.stat('/opt/kata')).exists).toBe(false);
      expect(readdirSync(path.join(dir, 'tmp')), 'extracted assets left behind').toEqual([]);
    });
  },
);
