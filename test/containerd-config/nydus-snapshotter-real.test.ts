import { afterAll, describe, expect, it } from 'vitest';
import { customHandlers } from '../../src/core/custom-handlers.js';
import { handlersFor } from '../../src/core/handlers.js';
import { planRuntimeConfigRemoval } from '../../src/containerd/config/removal.js';
import { runtimePlatformsPath, runtimesPath } from '../../src/containerd/config/handler-tables.js';
import { getPath, parseTomlText } from '../../src/containerd/config/toml-document.js';
import { assertChangedConfigAccepted } from '../../src/containerd/config/validate-plan.js';
import { containerdValidator } from '../../src/containerd/config/validator.js';
import { childProcessRunner } from '../../src/host/command-runner.js';
import { containerdBinaries } from '../helpers/containerd-binaries.js';
import { privateScratch } from '../helpers/private-scratch.js';
import { corpusPlan } from './corpus-plan.js';
import { applied, corpusFiles, request, sameFiles, semver } from './fixtures.js';

/** Upstream refuses any snapshotter mapping on containerd 1.6 (upstream-node-checks.ts), so 1.7 and 2.x only. */
const binaries = containerdBinaries().filter((binary) => !binary.version.startsWith('1.6.'));
const files = corpusFiles('containerd');
const tally = { accepted: 0, refused: 0, v2OnContainerd2: 0 };

/** SNAPSHOTTER_HANDLER_MAPPING=qemu:nydus,clh:overlayfs plus a custom runtime on nydus, for one install. */
function nydusHandlers(suffix: string | undefined) {
  const installDir = suffix === undefined ? '/opt/kata' : `/opt/kata-${suffix}`;
  const mapped = handlersFor({
    shims: ['qemu', 'clh'],
    multiInstallSuffix: suffix,
    debug: true,
    installDir,
    snapshotterHandlerMapping: new Map([
      ['qemu', 'nydus'],
      ['clh', 'overlayfs'],
    ]),
  });
  const custom = customHandlers(
    installDir,
    [{ handler: 'kata-tee', baseShim: 'qemu', snapshotter: 'nydus', crioPullType: undefined, dropIn: undefined }],
    suffix,
  );
  return [...mapped, ...custom];
}

/** The snapshotter each handler has in a `config dump`, from the runtime map and (v3) the images plugin. */
function dumpedSnapshotters(dump: string): Map<string, string> {
  const value = parseTomlText('containerd config dump', dump);
  const found = new Map<string, string>();
  for (const version of [2, 3] as const) {
    const map = getPath(value, runtimesPath(version)) as Record<string, { snapshotter?: string }> | undefined;
    for (const [name, table] of Object.entries(map ?? {}))
      if (table.snapshotter) found.set(`runtime ${name}`, table.snapshotter);
    const platforms = runtimePlatformsPath(version);
    const images = platforms === undefined ? undefined : getPath(value, platforms);
    for (const [name, table] of Object.entries((images ?? {}) as Record<string, { snapshotter?: string }>))
      if (table.snapshotter) found.set(`images ${name}`, table.snapshotter);
  }
  return found;
}

afterAll(() => {
  console.log(
    `nydus mapping on real containerd: ${tally.accepted} file × version pairs accepted with nydus-for-kata-tee, ` +
      `${tally.refused} refused before any change; ${tally.v2OnContainerd2} v2 files on containerd 2.x have no ` +
      'images runtime_platforms entry (pulls use the default snapshotter there)',
  );
});

describe.each(binaries)('containerd $version with SNAPSHOTTER_HANDLER_MAPPING qemu:nydus', (binary) => {
  const validator = containerdValidator({ runner: childProcessRunner, scratch: privateScratch(), binary: binary.path });
  const daemon = semver(binary.version);

  it.concurrent.each(files.flatMap((file) => [[file, undefined] as const, [file, 'beta'] as const]))(
    '%s (suffix %s): handlers on nydus use the nydus-for-kata-tee proxy plugin; others as mapped; removal exact',
    async (file, suffix) => {
      const handlers = nydusHandlers(suffix);
      const wanted = request({ daemonVersion: daemon, handlers, suffix });
      const planned = await corpusPlan(validator, wanted, file);
      if (planned === undefined) {
        tally.refused++;
        return;
      }
      const { current, before, plan } = planned;
      const dump = (await assertChangedConfigAccepted(validator, wanted, current, plan, before)) ?? '';
      const proxy = suffix === undefined ? 'nydus-for-kata-tee' : `nydus-for-kata-tee-${suffix}`;
      const sfx = suffix === undefined ? '' : `-${suffix}`;
      const snapshotters = dumpedSnapshotters(dump);
      for (const name of [`kata-qemu${sfx}`, `kata-qemu${sfx}-debug`, 'kata-tee'])
        expect(snapshotters.get(`runtime ${name}`), name).toBe(proxy);
      expect(snapshotters.get(`runtime kata-clh${sfx}-debug`)).toBe('overlayfs');
      // A v2 file on containerd 2.x is migrated without runtime_platforms, so image pulls for the handler use the
      // default snapshotter there (upstream writes the same; containerd#12836); counted, not hidden.
      const v3Ids = plan.changes.some((change) => change.after?.toString().includes('io.containerd.cri.v1.runtime'));
      if (daemon.major >= 2 && v3Ids) expect(snapshotters.get(`images kata-qemu${sfx}`)).toBe(proxy);
      else if (daemon.major >= 2) tally.v2OnContainerd2++;
      expect([...snapshotters.values()]).not.toContain('nydus');
      const installed = applied(current, plan.changes);
      expect(sameFiles(applied(installed, planRuntimeConfigRemoval(plan.record, installed)), current)).toEqual([]);
      tally.accepted++;
    },
  );
});

describe('the nydus matrix as a whole', () => {
  it('ran on 1.7 and 2.x and was accepted on most corpus files', () => {
    expect(binaries.length).toBeGreaterThanOrEqual(2);
    expect(tally.accepted + tally.refused).toBe(files.length * binaries.length * 2);
    expect(tally.accepted).toBeGreaterThanOrEqual(files.length);
  });
});
