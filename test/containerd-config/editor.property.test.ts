import fc from 'fast-check';
import { parse } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { planRuntimeConfig } from '../../src/containerd/config/plan.js';
import { planRuntimeConfigRemoval, pruneEmpty } from '../../src/containerd/config/removal.js';
import { withoutPath, type TomlTable } from '../../src/containerd/config/toml-document.js';
import { applied, request, sameFiles, semver } from './fixtures.js';
import { generatedConfig } from './generated-config.js';

const CONFIG = '/etc/containerd/config.toml';

/** A runc table as a 1.x `config dump` prints it: scalars, string arrays and an options sub-table. */
const dumpedRunc = fc.record({
  runtime_type: fc.constant('io.containerd.runc.v2'),
  runtime_path: fc.string(),
  cni_max_conf_num: fc.integer({ min: 0, max: 1000 }),
  pod_annotations: fc.array(fc.string(), { maxLength: 3 }),
  options: fc.record({ SystemdCgroup: fc.boolean(), BinaryName: fc.string(), IoGid: fc.nat() }),
});
const parsed = (bytes: Buffer | undefined): TomlTable =>
  parse((bytes ?? Buffer.alloc(0)).toString('utf8').replace(/^\uFEFF/, '')) as TomlTable;

describe('the in-place editor on generated configs', () => {
  it('generates valid TOML only (the generator itself is checked)', () => {
    fc.assert(
      fc.property(generatedConfig([1, 2, 3]), ({ text }) => {
        expect(() => parsed(Buffer.from(text))).not.toThrow();
      }),
      { numRuns: 300 },
    );
  });

  it('adds exactly our tables on containerd 1.7, converges, and removal restores every byte', () => {
    fc.assert(
      fc.property(generatedConfig([1, 2]), fc.option(dumpedRunc, { nil: undefined }), ({ text }, effectiveRunc) => {
        const original = Buffer.from(text);
        const current = new Map([[CONFIG, original]]);
        const req = request({
          daemonVersion: semver('1.7.24'),
          ...(effectiveRunc === undefined ? {} : { effectiveRunc }),
        });
        const plan = planRuntimeConfig(req, current, undefined);
        const after = applied(current, plan.changes);
        const value = parsed(after.get(CONFIG));
        const ours = plan.record.files[0]?.tables ?? [];
        expect(ours.length).toBeGreaterThanOrEqual(req.handlers.length * 2);
        expect(pruneEmpty(ours.reduce((acc, table) => withoutPath(acc, table), value))).toEqual(
          pruneEmpty(parsed(original)),
        );
        expect(planRuntimeConfig(req, after, plan.record).changes).toEqual([]);
        expect(sameFiles(applied(after, planRuntimeConfigRemoval(plan.record, after)), current)).toEqual([]);
      }),
      { numRuns: 400 },
    );
  });

  it(
    "changes the operator's file on containerd 2.1 by one imports entry at most, and removal restores every " + 'byte',
    () => {
      fc.assert(
        fc.property(generatedConfig([2, 3]), ({ text }) => {
          const original = Buffer.from(text);
          const current = new Map([[CONFIG, original]]);
          const req = request({ daemonVersion: semver('2.1.4') });
          const plan = planRuntimeConfig(req, current, undefined);
          const after = applied(current, plan.changes);
          const before = parsed(original);
          const main = parsed(after.get(CONFIG));
          expect(withoutPath(main, ['imports'])).toEqual(withoutPath(before, ['imports']));
          const added = (main.imports as string[]).filter(
            (entry) => !((before.imports as string[] | undefined) ?? []).includes(entry),
          );
          const viaGlob = ((before.imports as string[] | undefined) ?? []).includes('/etc/containerd/extra/*.toml');
          expect(added).toEqual(viaGlob ? [] : ['/etc/containerd/conf.d/kata-deploy.toml']);
          expect(plan.record.files.find((file) => file.ownedWhole)?.path).toBe(
            viaGlob ? '/etc/containerd/extra/kata-deploy.toml' : '/etc/containerd/conf.d/kata-deploy.toml',
          );
          expect(planRuntimeConfig(req, after, plan.record).changes).toEqual([]);
          expect(sameFiles(applied(after, planRuntimeConfigRemoval(plan.record, after)), current)).toEqual([]);
        }),
        { numRuns: 400 },
      );
    },
  );

  it("keeps an operator's edit made after install and removes only our tables", () => {
    fc.assert(
      fc.property(
        generatedConfig([1, 2]),
        fc.constantFrom('# later note', 'log_level = "debug"'),
        ({ text }, extra) => {
          const original = Buffer.from(text);
          const current = new Map([[CONFIG, original]]);
          const req = request({ daemonVersion: semver('1.6.20') });
          const plan = planRuntimeConfig(req, current, undefined);
          const installed = textOf(plan.changes.find((change) => change.path === CONFIG)?.after);
          const bom = installed.startsWith('\uFEFF') ? '\uFEFF' : '';
          const edited = Buffer.from(`${bom}${extra}\n${installed.slice(bom.length)}`);
          const [change] = planRuntimeConfigRemoval(plan.record, new Map([[CONFIG, edited]]));
          const restoredText = textOf(change?.after);
          expect(restoredText).toBe(`${bom}${extra}\n${text.slice(bom.length)}`);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('removal after random operator edits', () => {
  const edits = fc.constantFrom(
    (text: string) => `${text}gid = 0\n`,
    (text: string) => `${text}[metrics]\naddress = "127.0.0.1:1338"\n`,
    (text: string) =>
      text.replace('privileged_without_host_devices = true', 'privileged_without_host_devices = false # ops'),
    (text: string) => text.replace(/\nversion = (\d)/, '\n# pinned\nversion = $1'),
    (text: string) =>
      text.replace(
        'runtime_type = "io.containerd.kata-qemu.v2"',
        'runtime_type = "io.containerd.kata-qemu.v2"\nextra = 1',
      ),
  );

  it('removes all of ours and keeps every operator key outside our tables', () => {
    fc.assert(
      fc.property(generatedConfig([1, 2], { bom: false }), edits, ({ text }, edit) => {
        const current = new Map([[CONFIG, Buffer.from(text)]]);
        const plan = planRuntimeConfig(request({ daemonVersion: semver('1.6.20') }), current, undefined);
        const edited = Buffer.from(edit(textOf(plan.changes[0]?.after)));
        const ours = plan.record.files[0]?.tables ?? [];
        const [change] = planRuntimeConfigRemoval(plan.record, new Map([[CONFIG, edited]]));
        const result = parsed(change?.after);
        expect(JSON.stringify(result)).not.toMatch(/kata-/);
        expect(pruneEmpty(result)).toEqual(
          pruneEmpty(ours.reduce((acc, table) => withoutPath(acc, table), parsed(edited))),
        );
      }),
      { numRuns: 300 },
    );
  });
});

function textOf(bytes: Buffer | undefined): string {
  return (bytes ?? Buffer.alloc(0)).toString('utf8');
}
