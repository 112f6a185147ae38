import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'smol-toml';
import { customHandlers } from '../../src/core/custom-handlers.js';
import { planRuntimeConfig } from '../../src/containerd/config/plan.js';
import { planRuntimeConfigRemoval } from '../../src/containerd/config/removal.js';
import { assertChangedConfigAccepted, dumpedRuntimes } from '../../src/containerd/config/validate-plan.js';
import { containerdValidator } from '../../src/containerd/config/validator.js';
import { childProcessRunner } from '../../src/host/command-runner.js';
import { containerdBinaries } from '../helpers/containerd-binaries.js';
import { privateScratch } from '../helpers/private-scratch.js';
import { corpusPlan } from './corpus-plan.js';
import { applied, corpusFiles, request, sameFiles, semver, testHandlers } from './fixtures.js';

const binaries = containerdBinaries();
const files = corpusFiles('containerd');
const tally = { raised: 0, operatorsKept: 0, skipped: 0 };
const CUSTOM = customHandlers(
  '/opt/kata',
  [{ handler: 'kata-big', baseShim: 'qemu', snapshotter: undefined, crioPullType: undefined, dropIn: undefined }],
  undefined,
);
const ANNOTATED = [...testHandlers(), ...CUSTOM].map((handler) => ({
  ...handler,
  podAnnotations: ['io.katacontainers.config.hypervisor.default_vcpus', 'example.com/extra'],
}));

type Dump = { debug?: { level?: string }; [key: string]: unknown };

afterAll(() => {
  console.log(
    `upstream shapes on real containerd: debug level raised on ${tally.raised}, operator's [debug] kept on ` +
      `${tally.operatorsKept}, ${tally.skipped} file × version pairs refused before any change`,
  );
});

describe.each(binaries)('containerd $version with DEBUG, a custom runtime and pod_annotations', (binary) => {
  const validator = containerdValidator({ runner: childProcessRunner, scratch: privateScratch(), binary: binary.path });
  const daemon = semver(binary.version);

  it.concurrent.each(files)(
    '%s: accepted, debug level raised only where the operator has no [debug], then lowered and removed exactly',
    async (file) => {
      const debugOn = request({ daemonVersion: daemon, handlers: ANNOTATED, debugLevel: true });
      const planned = await corpusPlan(validator, debugOn, file);
      if (planned === undefined) {
        tally.skipped++;
        return;
      }
      const { current, before, plan } = planned;
      const dump = (await assertChangedConfigAccepted(validator, debugOn, current, plan, before)) ?? '';
      for (const handler of ANNOTATED) expect(dumpedRuntimes(dump).has(handler.name)).toBe(true);
      const operatorLevel = (parse(before ?? '') as Dump).debug?.level;
      const level = (parse(dump) as Dump).debug?.level;
      if (plan.record.debugLevel === true) {
        expect(level).toBe('debug');
        tally.raised++;
      } else {
        expect(level).toBe(operatorLevel);
        tally.operatorsKept++;
      }
      const installed = applied(current, plan.changes);
      const debugOff = request({ daemonVersion: daemon, handlers: ANNOTATED, debugLevel: false });
      const lowered = planRuntimeConfig(debugOff, installed, plan.record);
      const loweredDump =
        (await assertChangedConfigAccepted(validator, debugOff, installed, lowered, dump, plan.record)) ?? '';
      expect((parse(loweredDump) as Dump).debug?.level).toBe(operatorLevel);
      const afterOff = applied(installed, lowered.changes);
      expect(sameFiles(applied(afterOff, planRuntimeConfigRemoval(lowered.record, afterOff)), current)).toEqual([]);
      expect(sameFiles(applied(installed, planRuntimeConfigRemoval(plan.record, installed)), current)).toEqual([]);
    },
  );
});

describe('the debug-level matrix as a whole', () => {
  it('raised the level on most corpus files and kept an operator [debug] where there was one', () => {
    expect(tally.raised + tally.operatorsKept + tally.skipped).toBe(files.length * binaries.length);
    expect(tally.raised).toBeGreaterThanOrEqual(50);
    expect(tally.operatorsKept).toBeGreaterThan(0);
  });
});
