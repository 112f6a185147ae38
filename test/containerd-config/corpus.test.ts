import { parse } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { planRuntimeConfig } from '../../src/containerd/config/plan.js';
import { planRuntimeConfigRemoval, pruneEmpty } from '../../src/containerd/config/removal.js';
import { runtimesPath } from '../../src/containerd/config/handler-tables.js';
import { getPath, isTable, withoutPath, type TomlTable } from '../../src/containerd/config/toml-document.js';
import type { KataDeployError } from '../../src/core/errors.js';
import { applied, corpusBytes, corpusFiles, request, sameFiles, semver } from './fixtures.js';

const CONFIG = '/etc/containerd/config.toml';

function versionOf(bytes: Buffer): number {
  const value = parse(bytes.toString('utf8').replace(/^\uFEFF/, '')) as TomlTable;
  return typeof value.version === 'number' ? value.version : 1;
}

/** Which daemons each config version is exercised with, and how we expect to write. */
function scenarios(version: number): { daemon: string; mode: 'in-place' | 'drop-in' }[] {
  const list: { daemon: string; mode: 'in-place' | 'drop-in' }[] = [];
  if (version <= 2) list.push({ daemon: '1.6.20', mode: 'in-place' }, { daemon: '1.7.24', mode: 'in-place' });
  if (version <= 3) list.push({ daemon: '2.1.4', mode: 'drop-in' });
  if (version === 4) list.push({ daemon: '2.3.0', mode: 'drop-in' });
  return list;
}

/** Corpus files on which an install must refuse, and why. */
const REFUSALS: Record<string, RegExp> = {
  'kubespray/config.rendered-containerd2.2-kata.toml': /runtime handler "kata-qemu" is already defined by someone else/,
};

const parsed = (bytes: Buffer | undefined): TomlTable =>
  bytes === undefined ? {} : (parse(bytes.toString('utf8').replace(/^\uFEFF/, '')) as TomlTable);

describe.each(corpusFiles('containerd'))('corpus %s', (file) => {
  const original = corpusBytes('containerd', file);
  for (const { daemon, mode } of scenarios(versionOf(original))) {
    const req = request({ daemonVersion: semver(daemon) });
    const current = new Map([[CONFIG, original]]);

    if (REFUSALS[file] !== undefined) {
      it(`is refused with containerd ${daemon}, naming the clash`, () => {
        expect(() => planRuntimeConfig(req, current, undefined)).toThrowError(REFUSALS[file]);
        try {
          planRuntimeConfig(req, current, undefined);
        } catch (error) {
          expect((error as KataDeployError).code).toBe('config-refused');
        }
      });
      continue;
    }

    it(`gets exactly our handlers ${mode} with containerd ${daemon}, converges, and uninstalls byte for byte`, () => {
      const plan = planRuntimeConfig(req, current, undefined);
      const after = applied(current, plan.changes);
      const names = req.handlers.map((handler) => handler.name);
      if (mode === 'in-place') {
        expect(plan.changes.map((change) => change.path)).toEqual([CONFIG]);
        const [recorded] = plan.record.files;
        const value = parsed(after.get(CONFIG));
        const version = versionOf(original) as 1 | 2;
        const runtimes = getPath(value, runtimesPath(version));
        expect(isTable(runtimes)).toBe(true);
        for (const handler of req.handlers) {
          expect(getPath(runtimes, [handler.name, 'runtime_type'])).toBe(handler.runtimeType);
          expect(getPath(runtimes, [handler.name, 'options', 'ConfigPath'])).toBe(handler.configPath);
        }
        const withoutOurs = (recorded?.tables ?? []).reduce((acc, table) => withoutPath(acc, table), value);
        expect(pruneEmpty(withoutOurs)).toEqual(pruneEmpty(parsed(original)));
        expect(getPath(runtimes, ['runc'])).toBeDefined();
      } else {
        const originalTable = (): TomlTable => parsed(original);
        const dropIn = plan.record.files.find((recorded) => recorded.ownedWhole);
        expect(dropIn).toBeDefined();
        const dropInValue = parsed(after.get(dropIn?.path ?? ''));
        const dropInVersion = dropInValue.version as 2 | 3 | 4;
        expect(dropInVersion).toBe(versionOf(original) === 1 ? 3 : versionOf(original));
        const usesV3Ids = getPath(originalTable(), ['plugins', 'io.containerd.cri.v1.runtime']) !== undefined;
        const map = getPath(dropInValue, runtimesPath(usesV3Ids ? 3 : dropInVersion)) as TomlTable;
        expect(Object.keys(map).sort()).toEqual([...names].sort());
        const mainAfter = parsed(after.get(CONFIG));
        expect(withoutPath(mainAfter, ['imports'])).toEqual(withoutPath(originalTable(), ['imports']));
        const imports = (getPath(mainAfter, ['imports']) ?? []) as string[];
        const importedBefore = (getPath(originalTable(), ['imports']) ?? []) as string[];
        expect(imports.slice(imports.length - importedBefore.length)).toEqual(importedBefore);
        expect(imports.length - importedBefore.length).toBeLessThanOrEqual(1);
      }
      const again = planRuntimeConfig(req, after, plan.record);
      expect(again.changes).toEqual([]);
      expect(again.record).toEqual(plan.record);
      expect(JSON.parse(JSON.stringify(plan.record))).toEqual(plan.record);
      const restored = applied(after, planRuntimeConfigRemoval(plan.record, after));
      expect(sameFiles(restored, current)).toEqual([]);
    });
  }
});
