import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/host/logger.js';
import { connectSystemd } from '../../src/systemd/systemd-client.js';
import {
  bootNode,
  type NodeKind,
  type NspawnNode,
  nspawnNodeUnsupported,
  processRunning,
} from '../helpers/nspawn-node.js';
import { imageRoot } from '../helpers/testbed-roots.js';
import { corpusDir } from '../helpers/corpus.js';
import { samplePayload } from '../helpers/sample-payload.js';
import { snapshotTree } from '../helpers/tree-snapshot.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const unsupported = nspawnNodeUnsupported();
const VERSIONS: Record<NodeKind, string> = {
  'containerd-1.6': '1.6.',
  'containerd-2.1': '2.1.',
  k3s: '2.1.',
  'rke2-agent': '2.1.',
};
/** Where the test's own files appear in the node (bind-mounted read-only): Node, dist/, this directory, the image. */
const IN_NODE = {
  node: '/opt/kata-test/node',
  dist: '/opt/kata-test/dist',
  dir: '/opt/kata-test/testbed',
  image: '/opt/kata-image',
};

/** The image's bundled CLI on the image's Node, run inside the node from a plain shell (no pod yet). */
function kataDeploy(node: NspawnNode, command: string) {
  return node.exec([
    `${IN_NODE.image}/usr/local/bin/node`,
    `${IN_NODE.image}/opt/kata-deploy/kata-deploy.mjs`,
    command,
    '--payload',
    `${IN_NODE.image}/opt/kata-artifacts/kata-static.tar.zst`,
    '--shims',
    'qemu clh',
    '--log-format',
    'json',
    '--readiness-timeout',
    '30',
    '--json',
  ]);
}

interface Restarted {
  readonly pid: number;
  readonly before: { readonly invocationId: string; readonly mainPid: number };
  readonly outcome: { readonly result: string };
  readonly after: { readonly invocationId: string; readonly mainPid: number; readonly activeState: string };
}

const KINDS = ['containerd-1.6', 'containerd-2.1', 'k3s', 'rke2-agent'] as const;

describe.skipIf(unsupported !== undefined)(`nspawn nodes${unsupported ? ` (skipped: ${unsupported})` : ''}`, () => {
  const nodes = new Map<NodeKind, NspawnNode>();

  // All kinds at once, as parallel test files boot them: each must stay out of the others' way.
  beforeAll(async () => {
    if (!existsSync(path.join(REPO, 'dist/systemd/systemd-client.js'))) throw new Error('dist/ missing: npm run build');
    const image = await imageRoot(samplePayload());
    const binds = [
      { source: realpathSync(process.execPath), target: IN_NODE.node, readOnly: true },
      { source: path.join(REPO, 'dist'), target: IN_NODE.dist, readOnly: true },
      { source: import.meta.dirname, target: IN_NODE.dir, readOnly: true },
      { source: image, target: IN_NODE.image, readOnly: true },
    ];
    const booted = await Promise.allSettled(KINDS.map((kind) => bootNode({ kind, binds })));
    booted.forEach((result, index) => {
      if (result.status === 'fulfilled') nodes.set(KINDS[index]!, result.value);
    });
    const failed = booted.find((result) => result.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }, 900_000);
  afterAll(async () => {
    await Promise.all([...nodes.values()].map((node) => node.stop()));
  });

  it('gives every node its own cgroup, so restarting a unit in one leaves the others alone', async () => {
    const cgroups = [...nodes.values()].map((node) => readFileSync(`/proc/${node.pid}/cgroup`, 'utf8'));
    expect(new Set(cgroups).size).toBe(nodes.size);
    const [first, second] = [nodes.get('containerd-1.6')!, nodes.get('containerd-2.1')!];
    const untouched = await second.unitProperty('containerd.service', 'MainPID');
    expect((await first.systemctl('restart', 'containerd.service')).exitCode).toBe(0);
    expect(await second.unitProperty('containerd.service', 'MainPID')).toBe(untouched);
    expect(await second.unitProperty('containerd.service', 'NRestarts')).toBe('0');
    await first.waitForRuntime();
  });

  for (const kind of KINDS) {
    describe(kind, () => {
      let node: NspawnNode;
      beforeAll(() => {
        node = nodes.get(kind)!;
      });

      it('runs systemd as PID 1 of its own PID namespace', async () => {
        expect((await node.exec(['readlink', '/proc/1/exe'])).stdout.trim()).toBe('/usr/lib/systemd/systemd');
        expect(node.pid).not.toBe(1);
        expect((await node.exec(['systemctl', 'is-system-running'])).stdout.trim()).toBe('running');
      });

      it(`runs containerd ${VERSIONS[kind]}x as a system service and it answers CRI Status`, async () => {
        const { unit, binary } = node.runtime;
        expect(await node.unitProperty(unit, 'ActiveState')).toBe('active');
        const mainPid = await node.unitProperty(unit, 'MainPID');
        expect(Number(mainPid)).toBeGreaterThan(1);
        const exe = (await node.exec(['readlink', `/proc/${mainPid}/exe`])).stdout.trim();
        expect(exe).toBe((await node.exec(['readlink', '-f', binary])).stdout.trim());
        expect((await node.exec([binary, '--version'])).stdout).toContain(` ${VERSIONS[kind]}`);
        const status = await node.runtimeStatus();
        expect(status.runtimeReady).toBe(true);
        expect(status.handlers).toContain('runc');
      });

      it.runIf(kind === 'k3s' || kind === 'rke2-agent')(
        'renders its containerd config on start, importing the v3 drop-in directory',
        async () => {
          const config = await node.exec(['cat', node.runtime.configPath]);
          const program = kind === 'k3s' ? 'k3s' : 'rke2';
          expect(config.stdout).toMatch(new RegExp(`^# File generated by ${program}\\.`));
          expect(config.stdout).toContain(
            `imports = ["${path.posix.dirname(node.runtime.configPath)}/config-v3.toml.d/*.toml"]`,
          );
          expect((await node.exec(['containerd', '--version'])).exitCode).not.toBe(0);
        },
      );

      it.runIf(kind === 'k3s' || kind === 'rke2-agent')(
        're-renders from config-v3.toml.tmpl on restart, and refuses template actions it cannot run',
        async () => {
          const template = `${path.posix.dirname(node.runtime.configPath)}/config-v3.toml.tmpl`;
          const extra =
            `[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.extra]\n` +
            `  runtime_type = "io.containerd.runc.v2"\n`;
          try {
            await writeFile(node.hostPath(template), `{{ template "base" . }}\n${extra}`);
            expect((await node.systemctl('restart', node.runtime.unit)).exitCode).toBe(0);
            const rendered = await node.readFile(node.runtime.configPath);
            expect(rendered).toContain('config-v3.toml.d/*.toml"]');
            expect(rendered?.endsWith(extra)).toBe(true);
            expect((await node.waitForRuntime()).handlers).toContain('extra');
            await writeFile(node.hostPath(template), '{{ .NodeConfig.AgentConfig.Snapshotter }}\n');
            expect((await node.systemctl('restart', node.runtime.unit)).exitCode).not.toBe(0);
            const refusal = 'uses Go template actions other than';
            expect(await node.waitForJournal(node.runtime.unit, refusal)).toContain(refusal);
          } finally {
            await rm(node.hostPath(template), { force: true });
            expect((await node.systemctl('restart', node.runtime.unit)).exitCode).toBe(0);
          }
          expect((await node.waitForRuntime()).handlers).not.toContain('extra');
        },
      );

      it.runIf(kind === 'containerd-1.6')(
        'spawns a long-running command in the node and signals it there',
        async () => {
          const script = 'trap "echo stopped; exit 0" TERM; echo started; while :; do sleep 0.05; done';
          const sleeper = node.spawn(['sh', '-c', script]);
          await new Promise((resolve) => sleeper.child.stdout?.once('data', resolve));
          const hostPid = await sleeper.hostPid();
          const nspid = /^NSpid:\s+(.+)$/m.exec(readFileSync(`/proc/${hostPid}/status`, 'utf8'))?.[1];
          expect(nspid?.split(/\s+/)).toHaveLength(2);
          await sleeper.kill('SIGTERM');
          const result = await sleeper.result;
          expect(result.exitCode).toBe(0);
          expect(result.stdout).toBe('started\nstopped\n');
          expect(processRunning(hostPid)).toBe(false);
        },
      );

      it.runIf(kind === 'containerd-1.6')(
        'refuses the same client from the host, whose PID it cannot see',
        async () => {
          const quiet = silentLogger();
          await expect(connectSystemd(node.hostPath('/run/systemd/private'), quiet)).rejects.toThrow(
            /could not be used/,
          );
          const refusal = 'Incoming private connection from unprivileged client, refusing';
          expect(await node.waitForJournal('init.scope', refusal)).toContain(refusal);
        },
      );

      it.runIf(kind === 'k3s')(
        "refuses (exit 5) a k3s whose template renders no drop-in import, as the corpus's v2-era k3s, untouched",
        async () => {
          const template = `${path.posix.dirname(node.runtime.configPath)}/config.toml.tmpl`;
          await writeFile(
            node.hostPath(template),
            readFileSync(path.join(corpusDir(), 'containerd/k3s/config.rendered.toml')),
          );
          try {
            expect((await node.systemctl('restart', node.runtime.unit)).exitCode).toBe(0);
            await node.waitForRuntime();
            const before = await snapshotTree(node.hostPath(path.posix.dirname(node.runtime.configPath)));
            const install = await kataDeploy(node, 'install');
            expect(install.exitCode, install.stderr.slice(-2000)).toBe(5);
            expect(install.stderr).toContain('does not import the drop-in directory');
            expect(await snapshotTree(node.hostPath(path.posix.dirname(node.runtime.configPath)))).toEqual(before);
            expect((await node.exec(['test', '-e', '/opt/kata'])).exitCode).not.toBe(0);
          } finally {
            await rm(node.hostPath(template));
            await node.systemctl('restart', node.runtime.unit);
            await node.waitForRuntime();
          }
        },
      );

      it.each([
        ['a shell', []],
        ['a child PID namespace (as a pod is)', ['unshare', '--pid', '--fork', '--mount-proc']],
      ])('restarts the runtime with the project systemd client from %s in the node', async (_, prefix) => {
        const script = [IN_NODE.node, `${IN_NODE.dir}/restart-from-inside.mjs`, IN_NODE.dist, node.runtime.unit];
        const run = await node.exec([...prefix, ...script]);
        expect(run.exitCode, run.stderr).toBe(0);
        const restarted = JSON.parse(run.stdout) as Restarted;
        if (prefix.length > 0) expect(restarted.pid).toBe(1);
        expect(restarted.outcome.result).toBe('done');
        expect(restarted.after.activeState).toBe('active');
        expect(restarted.after.invocationId).not.toBe(restarted.before.invocationId);
        expect(restarted.after.mainPid).not.toBe(restarted.before.mainPid);
        expect((await node.waitForRuntime()).runtimeReady).toBe(true);
      });

      it('survives kata-deploy install and uninstall from a shell: handlers live, then config as it was', async () => {
        const configDir = path.posix.dirname(node.runtime.configPath);
        const before = await snapshotTree(node.hostPath(configDir));
        const install = await kataDeploy(node, 'install');
        expect(install.exitCode, install.stderr.slice(-3000)).toBe(0);
        expect(JSON.parse(install.stdout).restart.performed).toBe(true);
        expect((await node.runtimeStatus()).handlers).toEqual(
          expect.arrayContaining(['runc', 'kata-qemu', 'kata-clh']),
        );
        expect((await node.exec(['test', '-x', '/opt/kata/bin/containerd-shim-kata-v2'])).exitCode).toBe(0);
        const uninstall = await kataDeploy(node, 'uninstall');
        expect(uninstall.exitCode, uninstall.stderr.slice(-3000)).toBe(0);
        expect(await snapshotTree(node.hostPath(configDir))).toEqual(before);
        const after = await node.waitForRuntime();
        expect(after.handlers).not.toContain('kata-qemu');
        expect((await node.exec(['test', '-e', '/opt/kata'])).exitCode).not.toBe(0);
      });
    });
  }
});
