import { parse } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { planRuntimeConfig } from '../../src/containerd/config/plan.js';
import { planRuntimeConfigRemoval } from '../../src/containerd/config/removal.js';
import { runtimeConfigReads } from '../../src/containerd/config/reads.js';
import { getPath, type TomlTable } from '../../src/containerd/config/toml-document.js';
import { applied, corpusBytes, corpusFiles, request, sameFiles, testHandlers } from '../containerd-config/fixtures.js';

const CRIO_CONF = '/etc/crio/crio.conf';
const DROP_IN = '/etc/crio/crio.conf.d/99-kata-deploy';

/** Where a corpus file sits on a CRI-O node: drop-ins in crio.conf.d, full configs as crio.conf. */
function hostPathOf(file: string): string {
  return file.includes('crio.conf.d/') ? `/etc/crio/crio.conf.d/${file.split('/').at(-1)}` : CRIO_CONF;
}

const CLASHES: Record<string, RegExp> = {
  'kubespray/crio.rendered-kata.conf': new RegExp(
    /crio\.conf: CRI-O runtime "kata-qemu" \(\[crio\.runtime\.runtimes\.kata-qemu\]\) is /.source +
      /already defined by someone else/.source,
  ),
};

describe.each(corpusFiles('crio'))('CRI-O corpus %s', (file) => {
  const req = request({ flavour: 'crio', configPath: CRIO_CONF, daemonVersion: undefined });
  const current = new Map<string, Buffer | undefined>([
    [hostPathOf(file), corpusBytes('crio', file)],
    [DROP_IN, undefined],
  ]);

  if (CLASHES[file] !== undefined) {
    it('is refused because it already defines one of our handler names', () => {
      expect(() => planRuntimeConfig(req, current, undefined)).toThrowError(CLASHES[file]);
    });
    return;
  }

  it(
    "gets our drop-in with exactly our runtimes, leaves the operator's file alone, converges and uninstalls " +
      'cleanly',
    () => {
      const plan = planRuntimeConfig(req, current, undefined);
      expect(plan.changes.map((change) => change.path)).toEqual([DROP_IN]);
      const after = applied(current, plan.changes);
      const runtimes = getPath(parse(after.get(DROP_IN)?.toString('utf8') ?? '') as TomlTable, [
        'crio',
        'runtime',
        'runtimes',
      ]) as TomlTable;
      expect(Object.keys(runtimes)).toEqual(req.handlers.map((handler) => handler.name));
      for (const handler of req.handlers) {
        expect(runtimes[handler.name]).toEqual({
          runtime_path: handler.runtimePath,
          runtime_type: 'vm',
          runtime_root: '/run/vc',
          runtime_config_path: handler.configPath,
          privileged_without_host_devices: true,
        });
      }
      expect(planRuntimeConfig(req, after, plan.record).changes).toEqual([]);
      expect(sameFiles(applied(after, planRuntimeConfigRemoval(plan.record, after)), current)).toEqual([]);
    },
  );
});

describe('CRI-O drop-in', () => {
  it('carries the install suffix in its name so parallel installs keep separate files', () => {
    const req = request({ flavour: 'crio', configPath: CRIO_CONF, suffix: 'dev', handlers: testHandlers('dev') });
    expect(runtimeConfigReads(req)).toEqual([CRIO_CONF, '/etc/crio/crio.conf.d/99-kata-deploy-dev']);
    const plan = planRuntimeConfig(req, new Map(), undefined);
    expect(plan.changes.map((change) => change.path)).toEqual(['/etc/crio/crio.conf.d/99-kata-deploy-dev']);
  });

  it('refuses to overwrite a 99-kata-deploy left by another installer', () => {
    const req = request({ flavour: 'crio', configPath: CRIO_CONF });
    expect(() => planRuntimeConfig(req, new Map([[DROP_IN, Buffer.from('[crio.runtime]\n')]]), undefined)).toThrowError(
      /99-kata-deploy already exists and was not written by this install/,
    );
  });
});
