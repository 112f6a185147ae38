import { linkSync, copyFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { detectFlavour, detectRuntime, readConfigVersion } from '../../src/detect/runtime.js';
import { containerdVersion } from '../../src/containerd/client.js';
import { childProcessRunner } from '../../src/host/command-runner.js';
import { NodeHostFs } from '../../src/host/node-host-fs.js';
import { parseSettings } from '../../src/settings/parse-settings.js';
import { configVersionMismatch, parseSemVer } from '../../src/core/containerd-version.js';
import { makeTempRoot, type TempRoot, type TreeSpec } from '../helpers/temp-root.js';
import { startPrivateContainerd } from '../helpers/private-containerd.js';

let temp: TempRoot | undefined;
afterEach(async () => {
  await temp?.cleanup();
  temp = undefined;
});

const settings = (env: Record<string, string> = {}) => parseSettings({ env, flags: {}, arch: 'x86_64' });
const noSocket = async () => undefined;

async function root(tree: TreeSpec): Promise<NodeHostFs> {
  temp = await makeTempRoot(tree);
  return new NodeHostFs(temp.root);
}

async function placeRealContainerd(rootDir: string): Promise<void> {
  const target = path.join(rootDir, 'usr/bin/containerd');
  await mkdir(path.dirname(target), { recursive: true });
  try {
    linkSync('/usr/bin/containerd', target);
  } catch {
    copyFileSync('/usr/bin/containerd', target);
  }
}

describe('detectFlavour', () => {
  it.each<[string, TreeSpec, string]>([
    ['vanilla containerd', { '/etc/containerd/config.toml': 'version = 2\n' }, 'containerd'],
    ['a k3s server', { '/etc/systemd/system/k3s.service': '[Unit]\n' }, 'k3s'],
    ['a k3s agent', { '/etc/systemd/system/k3s-agent.service': '[Unit]\n' }, 'k3s-agent'],
    ['an rke2 agent', { '/usr/local/lib/systemd/system/rke2-agent.service': '[Unit]\n' }, 'rke2-agent'],
    ['an rke2 server', { '/usr/lib/systemd/system/rke2-server.service': '[Unit]\n' }, 'rke2-server'],
    [
      'a k0s worker',
      { '/etc/systemd/system/k0sworker.service': '[Unit]\n', '/etc/containerd/config.toml': '' },
      'k0s-worker',
    ],
    ['a k0s controller', { '/etc/systemd/system/k0scontroller.service': '[Unit]\n' }, 'k0s-controller'],
    ['microk8s', { '/var/snap/microk8s/current/args/containerd-template.toml': '' }, 'microk8s'],
    ['CRI-O without containerd', { '/usr/bin/crio': '', '/lib/systemd/system/crio.service': '' }, 'crio'],
    ['CRI-O next to a containerd binary', { '/usr/bin/crio': '', '/usr/bin/containerd': '' }, 'containerd'],
  ])('recognises %s', async (_name, tree, flavour) => {
    expect((await detectFlavour(await root(tree))).flavour).toBe(flavour);
  });
});

describe('readConfigVersion', () => {
  it('reads an absent version as 1, as containerd does', () => {
    expect(readConfigVersion('[plugins."io.containerd.grpc.v1.cri"]\n')).toBe(1);
    expect(readConfigVersion('version = 3\n')).toBe(3);
  });

  it('refuses a non-integer version', () => {
    expect(() => readConfigVersion('version = "2"\n')).toThrow(/must be an integer/);
  });
});

describe('configVersionMismatch', () => {
  it.each<[string, number, RegExp | undefined]>([
    ['1.6.20', 2, undefined],
    ['1.6.20', 3, /silently ignores/],
    ['1.7.24', 3, /refuses a version 3/],
    ['2.1.4', 3, undefined],
    ['2.1.4', 4, /refuses a version 4/],
    ['2.3.0', 4, undefined],
  ])('containerd %s with config version %d', (daemon, version, expected) => {
    const result = configVersionMismatch(parseSemVer(daemon)!, version);
    if (expected === undefined) expect(result).toBeUndefined();
    else expect(result).toMatch(expected);
  });
});

describe('detectRuntime', () => {
  it('reports a missing config and no daemon on an empty host', async () => {
    const report = await detectRuntime(await root({}), childProcessRunner, settings(), noSocket);
    expect(report).toMatchObject({
      flavour: 'containerd',
      configPath: '/etc/containerd/config.toml',
      configExists: false,
      daemonVersionSource: 'none',
      unit: 'containerd.service',
    });
  });

  it(
    'reads the daemon version from the host binary and flags a v3 config that containerd 1.6 would ' + 'ignore',
    async () => {
      const fs = await root({ '/etc/containerd/config.toml': 'version = 3\n' });
      await placeRealContainerd(temp!.root);
      const report = await detectRuntime(fs, childProcessRunner, settings(), noSocket);
      expect(report.daemonVersionSource).toBe('binary');
      expect(report.daemonVersion).toMatch(/^1\.6\./);
      expect(report.configVersion).toBe(3);
      expect(report.warnings.join('\n')).toMatch(/silently ignores/);
    },
  );

  it('reports a broken config without failing detection', async () => {
    const report = await detectRuntime(
      await root({ '/etc/containerd/config.toml': 'version = = 2\n' }),
      childProcessRunner,
      settings(),
      noSocket,
    );
    expect(report.configError).toMatch(/\/etc\/containerd\/config\.toml/);
  });

  it('uses the flavour layout and flag overrides', async () => {
    const report = await detectRuntime(
      await root({}),
      childProcessRunner,
      settings({ KATA_RUNTIME_FLAVOUR: 'k3s-agent', CONTAINERD_UNIT: 'custom.service' }),
      noSocket,
    );
    expect(report).toMatchObject({
      flavour: 'k3s-agent',
      detectedBy: '--runtime',
      socket: '/run/k3s/containerd/containerd.sock',
      unit: 'custom.service',
    });
  });

  it('asks a running containerd for its version over its socket', async () => {
    const fs = await root({ '/run/containerd': { dir: true }, '/etc/containerd/config.toml': 'version = 2\n' });
    const daemon = await startPrivateContainerd(
      '/usr/bin/containerd',
      path.join(temp!.root, 'var/lib/containerd-test'),
      path.join(temp!.root, 'run/containerd/containerd.sock'),
    );
    try {
      const report = await detectRuntime(
        fs,
        childProcessRunner,
        settings(),
        async (socket) => (await containerdVersion(socket)).version,
      );
      expect(report.daemonVersionSource).toBe('socket');
      expect(report.daemonVersion).toMatch(/^1\.6\./);
    } finally {
      await daemon.stop();
    }
  });
});
