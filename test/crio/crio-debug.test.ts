import { parse } from 'smol-toml';
import { afterEach, describe, expect, it } from 'vitest';
import { planRuntimeConfig } from '../../src/containerd/config/plan.js';
import { planRuntimeConfigRemoval } from '../../src/containerd/config/removal.js';
import { getPath, type TomlTable } from '../../src/containerd/config/toml-document.js';
import { detectRuntime } from '../../src/detect/runtime.js';
import { childProcessRunner } from '../../src/host/command-runner.js';
import { NodeHostFs } from '../../src/host/node-host-fs.js';
import { parseSettings } from '../../src/settings/parse-settings.js';
import { applied, corpusBytes, corpusFiles, request, sameFiles } from '../containerd-config/fixtures.js';
import { makeTempRoot, type TempRoot } from '../helpers/temp-root.js';

const CRIO_CONF = '/etc/crio/crio.conf';
const DROP_IN = '/etc/crio/crio.conf.d/99-kata-deploy';
const files = corpusFiles('crio').filter((file) => !file.includes('crio.conf.d/') && !file.includes('kata'));

function logLevel(text: string | undefined): unknown {
  return getPath(parse(text ?? '') as TomlTable, ['crio', 'runtime', 'log_level']);
}

describe('DEBUG on CRI-O: log_level = "debug" in our drop-in, never over an operator level', () => {
  it.each(files)('%s', (file) => {
    const original = corpusBytes('crio', file);
    const current = new Map<string, Buffer | undefined>([
      [CRIO_CONF, original],
      [DROP_IN, undefined],
    ]);
    const on = request({ flavour: 'crio', configPath: CRIO_CONF, daemonVersion: undefined, debugLevel: true });
    const plan = planRuntimeConfig(on, current, undefined);
    const after = applied(current, plan.changes);
    const operators = logLevel(original.toString('utf8'));
    expect(logLevel(after.get(DROP_IN)?.toString('utf8'))).toBe(operators === undefined ? 'debug' : undefined);
    const off = request({ flavour: 'crio', configPath: CRIO_CONF, daemonVersion: undefined, debugLevel: false });
    const lowered = applied(after, planRuntimeConfig(off, after, plan.record).changes);
    expect(logLevel(lowered.get(DROP_IN)?.toString('utf8'))).toBeUndefined();
    expect(sameFiles(applied(after, planRuntimeConfigRemoval(plan.record, after)), current)).toEqual([]);
  });

  it('raises the level on a config without one, so the table above is not vacuous', () => {
    const current = new Map<string, Buffer | undefined>([
      [CRIO_CONF, Buffer.from('[crio]\n')],
      [DROP_IN, undefined],
    ]);
    const on = request({ flavour: 'crio', configPath: CRIO_CONF, daemonVersion: undefined, debugLevel: true });
    const after = applied(current, planRuntimeConfig(on, current, undefined).changes);
    expect(logLevel(after.get(DROP_IN)?.toString('utf8'))).toBe('debug');
  });
});

describe('K8S_DISTRIBUTION=microk8s forces the microk8s flavour, as upstream', () => {
  let root: TempRoot | undefined;
  afterEach(async () => root?.cleanup());

  it('uses microk8s paths without detecting, and --runtime still wins', async () => {
    root = await makeTempRoot({ '/etc/containerd': { dir: true } });
    const fs = new NodeHostFs(root.root);
    const probe = async () => undefined;
    const settings = parseSettings({ env: { K8S_DISTRIBUTION: 'microk8s' }, flags: {}, arch: 'x86_64' });
    const report = await detectRuntime(fs, childProcessRunner, settings, probe);
    expect(report).toMatchObject({ flavour: 'microk8s', detectedBy: 'K8S_DISTRIBUTION=microk8s' });
    expect(report.configPath).toBe('/var/snap/microk8s/current/args/containerd-template.toml');
    const explicit = parseSettings({
      env: { K8S_DISTRIBUTION: 'microk8s' },
      flags: { runtime: 'containerd' },
      arch: 'x86_64',
    });
    expect((await detectRuntime(fs, childProcessRunner, explicit, probe)).flavour).toBe('containerd');
  });
});
