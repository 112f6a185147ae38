import { afterEach, describe, expect, it } from 'vitest';
import { planRuntimeConfig } from '../../src/containerd/config/plan.js';
import { readRuntimeConfigInputs } from '../../src/containerd/config/reads.js';
import { NodeHostFs } from '../../src/host/node-host-fs.js';
import { makeTempRoot, type TempRoot } from '../helpers/temp-root.js';
import { request, semver } from './fixtures.js';

const CONFIG = '/etc/containerd/config.toml';

describe('reading what the planner needs', () => {
  let root: TempRoot | undefined;
  afterEach(async () => {
    await root?.cleanup();
    root = undefined;
  });

  it('reads the main config, its explicit imports (present or not) and the files its globs match', async () => {
    root = await makeTempRoot({
      [CONFIG]: 'version = 3\nimports = ["extra.toml", "/etc/containerd/conf.d/*.toml", "/missing.toml"]\n',
      '/etc/containerd/extra.toml': 'version = 3\n',
      '/etc/containerd/conf.d/a.toml': 'version = 3\n',
      '/etc/containerd/conf.d/b.conf': 'not imported',
    });
    const files = await readRuntimeConfigInputs(new NodeHostFs(root.root), request({ daemonVersion: semver('2.1.4') }));
    expect([...files.keys()].sort()).toEqual([
      '/etc/containerd/conf.d/a.toml',
      '/etc/containerd/conf.d/kata-deploy.toml',
      CONFIG,
      '/etc/containerd/extra.toml',
      '/missing.toml',
    ]);
    expect(files.get('/missing.toml')).toBeUndefined();
  });

  it('reads every k0s and CRI-O drop-in, since the runtime reads them all', async () => {
    root = await makeTempRoot({
      '/etc/k0s/containerd.d/gvisor.toml': 'version = 3\n',
      '/etc/crio/crio.conf.d/10-crio.conf': '[crio]\n',
    });
    const fs = new NodeHostFs(root.root);
    const k0s = await readRuntimeConfigInputs(
      fs,
      request({ flavour: 'k0s-worker', configPath: '/etc/k0s/containerd.toml' }),
    );
    expect(k0s.get('/etc/k0s/containerd.d/gvisor.toml')?.toString()).toBe('version = 3\n');
    const crio = await readRuntimeConfigInputs(fs, request({ flavour: 'crio', configPath: '/etc/crio/crio.conf' }));
    expect(crio.get('/etc/crio/crio.conf.d/10-crio.conf')?.toString()).toBe('[crio]\n');
  });

  it('reads the files the previous install recorded, so a drop-in left in an old place is removed', async () => {
    root = await makeTempRoot({ [CONFIG]: 'version = 3\nimports = ["/etc/containerd/old.d/*.toml"]\n' });
    const fs = new NodeHostFs(root.root);
    const req = request({ daemonVersion: semver('2.1.4') });
    const first = planRuntimeConfig(req, await readRuntimeConfigInputs(fs, req), undefined);
    expect(first.record.files.map((file) => file.path)).toEqual(['/etc/containerd/old.d/kata-deploy.toml']);
    const files = await readRuntimeConfigInputs(fs, { ...req, configPath: '/etc/containerd/other.toml' }, first.record);
    expect(files.has('/etc/containerd/old.d/kata-deploy.toml')).toBe(true);
  });

  it.each([
    ['the main config', CONFIG, `version = 2\n${'# padding\n'.repeat(600_000)}`],
    ['an imported file', '/etc/containerd/big.toml', `version = 2\n${'# padding\n'.repeat(600_000)}`],
  ])('refuses (exit 5) %s over the size limit before reading it, naming it', async (_what, big, text) => {
    root = await makeTempRoot({
      [CONFIG]: big === CONFIG ? text : 'version = 2\nimports = ["/etc/containerd/big.toml"]\n',
      ...(big === CONFIG ? {} : { [big]: text }),
    });
    const reading = readRuntimeConfigInputs(new NodeHostFs(root.root), request({ daemonVersion: semver('1.7.24') }));
    await expect(reading).rejects.toThrow(`${big} is ${Buffer.byteLength(text)} bytes, more than the 4194304`);
    await expect(reading).rejects.toMatchObject({ code: 'config-refused' });
  });
});
