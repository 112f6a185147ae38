import { afterAll, describe, expect, it } from 'vitest';
import { handlersFor } from '../../src/core/handlers.js';
import { planRuntimeConfig } from '../../src/containerd/config/plan.js';
import { planRuntimeConfigRemoval } from '../../src/containerd/config/removal.js';
import {
  assertChangedConfigAccepted,
  dumpedRuntimes,
  withEffectiveRunc,
} from '../../src/containerd/config/validate-plan.js';
import { containerdValidator } from '../../src/containerd/config/validator.js';
import { childProcessRunner } from '../../src/host/command-runner.js';
import { containerdBinaries } from '../helpers/containerd-binaries.js';
import { privateScratch } from '../helpers/private-scratch.js';
import { corpusPlan } from './corpus-plan.js';
import { applied, corpusFiles, request, sameFiles, semver } from './fixtures.js';

const binaries = containerdBinaries();
const files = corpusFiles('containerd');
const tally = { accepted: 0, refused: 0 };

/** DEBUG=true DEVKIT=true for qemu and clh: plain, -debug and -devkit handlers, as the settings produce them. */
function devkitHandlers(devkit: boolean) {
  return handlersFor({
    shims: ['qemu', 'clh'],
    multiInstallSuffix: undefined,
    debug: true,
    installDir: '/opt/kata',
    snapshotterHandlerMapping: new Map(),
    upstream: { devkit },
  });
}

afterAll(() => {
  console.log(
    `devkit handlers on real containerd: ${tally.accepted} accepted, ${tally.refused} refused before any change`,
  );
});

describe.each(binaries)('containerd $version with DEBUG and DEVKIT', (binary) => {
  const validator = containerdValidator({ runner: childProcessRunner, scratch: privateScratch(), binary: binary.path });
  const daemon = semver(binary.version);

  it.concurrent.each(files)('%s: the -devkit handlers load, go again with DEVKIT off, removal exact', async (file) => {
    const on = request({ daemonVersion: daemon, handlers: devkitHandlers(true), debugLevel: true });
    const planned = await corpusPlan(validator, on, file);
    if (planned === undefined) {
      tally.refused++;
      return;
    }
    const { current, before, plan } = planned;
    const dump = (await assertChangedConfigAccepted(validator, on, current, plan, before)) ?? '';
    for (const name of ['kata-qemu-devkit', 'kata-clh-devkit', 'kata-qemu-debug', 'kata-qemu'])
      expect(dumpedRuntimes(dump).has(name), name).toBe(true);
    const installed = applied(current, plan.changes);
    const off = request({ daemonVersion: daemon, handlers: devkitHandlers(false), debugLevel: true });
    const lowered = planRuntimeConfig(withEffectiveRunc(off, before), installed, plan.record);
    const offDump = (await assertChangedConfigAccepted(validator, off, installed, lowered, dump, plan.record)) ?? '';
    expect(dumpedRuntimes(offDump).has('kata-qemu-devkit')).toBe(false);
    expect(dumpedRuntimes(offDump).has('kata-qemu-debug')).toBe(true);
    const afterOff = applied(installed, lowered.changes);
    expect(sameFiles(applied(afterOff, planRuntimeConfigRemoval(lowered.record, afterOff)), current)).toEqual([]);
    expect(sameFiles(applied(installed, planRuntimeConfigRemoval(plan.record, installed)), current)).toEqual([]);
    tally.accepted++;
  });
});

describe('the devkit matrix as a whole', () => {
  it('loaded the devkit handlers on every containerd for most corpus files', () => {
    expect(tally.accepted + tally.refused).toBe(files.length * binaries.length);
    expect(tally.accepted).toBeGreaterThanOrEqual(files.length);
  });
});
