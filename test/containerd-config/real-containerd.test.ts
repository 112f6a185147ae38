import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'smol-toml';
import { planRuntimeConfig } from '../../src/containerd/config/plan.js';
import {
  assertChangedConfigAccepted,
  assertCurrentConfigAccepted,
  dumpedRunc,
  dumpedRuntimes,
  withEffectiveRunc,
} from '../../src/containerd/config/validate-plan.js';
import { containerdValidator } from '../../src/containerd/config/validator.js';
import { maxConfigVersion } from '../../src/core/containerd-version.js';
import { KataDeployError } from '../../src/core/errors.js';
import { childProcessRunner } from '../../src/host/command-runner.js';
import { privateScratch } from '../helpers/private-scratch.js';
import { containerdBinaries } from '../helpers/containerd-binaries.js';
import { makeTempRoot } from '../helpers/temp-root.js';
import { NodeHostFs } from '../../src/host/node-host-fs.js';
import { readRuntimeConfigInputs } from '../../src/containerd/config/reads.js';
import { corpusBytes, corpusFiles, request, semver } from './fixtures.js';

const CONFIG = '/etc/containerd/config.toml';
const binaries = containerdBinaries();
const files = corpusFiles('containerd');
const tally = { verified: 0, rejectedBefore: 0, refusedByDesign: 0, runcKept: 0 };
const notes: string[] = [];

function configVersion(bytes: Buffer): number {
  const value = parse(bytes.toString('utf8')) as { version?: unknown };
  return typeof value.version === 'number' ? value.version : 1;
}

afterAll(() => {
  if (process.env.MATRIX_NOTES === '1') console.log(notes.sort().join('\n'));
  console.log(
    `real containerd matrix: ${tally.verified} corpus file × version pairs verified, ${tally.rejectedBefore} ` +
      `rejected by containerd before install (refused by us too), ${tally.refusedByDesign} refused by design, ` +
      `${tally.runcKept} with the effective runc unchanged`,
  );
});

describe('the real containerd binaries', () => {
  it('include 1.6, 1.7 and 2.1 (run scripts/ci/containerd-binaries.sh once)', () => {
    expect(binaries.map((binary) => binary.version.split('.').slice(0, 2).join('.'))).toEqual(['1.6', '1.7', '2.1']);
  });
});

describe.each(binaries)('containerd $version', (binary) => {
  const daemon = semver(binary.version);
  const validator = containerdValidator({ runner: childProcessRunner, scratch: privateScratch(), binary: binary.path });

  it.concurrent.each(files)(
    'accepts %s with our handlers after install, or we refuse it before changing anything',
    async (file) => {
      const original = corpusBytes('containerd', file);
      const req = request({ daemonVersion: daemon });
      const root = await makeTempRoot({ [CONFIG]: original });
      let current: Map<string, Buffer | undefined>;
      try {
        current = await readRuntimeConfigInputs(new NodeHostFs(root.root), req);
      } finally {
        await root.cleanup();
      }
      let currentDump: string | undefined;
      try {
        currentDump = await assertCurrentConfigAccepted(validator, req, current);
      } catch (error) {
        expect((error as KataDeployError).code).toBe('config-refused');
        expect((error as Error).message).toMatch(
          new RegExp(
            /refuses the current config \/etc\/containerd\/config\.toml \(before any change\): /.source +
              /[\s\S]*(version|no such file)/.source,
          ),
        );
        tally.rejectedBefore++;
        notes.push(`${binary.version} ${file}: ${(error as Error).message.replace(/\n/g, ' | ')}`);
        return;
      }
      let plan: ReturnType<typeof planRuntimeConfig>;
      try {
        plan = planRuntimeConfig(withEffectiveRunc(req, currentDump), current, undefined);
      } catch (error) {
        expect(error).toBeInstanceOf(KataDeployError);
        expect((error as KataDeployError).code).toBe('config-refused');
        const versionTooNew = configVersion(original) > maxConfigVersion(daemon);
        const clash = /already defined by someone else/.test((error as Error).message);
        expect(versionTooNew || clash, (error as Error).message).toBe(true);
        tally.refusedByDesign++;
        notes.push(`${binary.version} ${file}: refused: ${(error as Error).message}`);
        return;
      }
      const dump = await assertChangedConfigAccepted(validator, req, current, plan, currentDump);
      const listed = dumpedRuntimes(dump ?? '');
      for (const handler of req.handlers) expect(listed.has(handler.name), handler.name).toBe(true);
      expect(listed.has('runc')).toBe(true);
      const runcBefore = dumpedRunc(currentDump ?? '');
      if (runcBefore !== undefined) {
        expect(dumpedRunc(dump ?? ''), 'the effective runc handler is unchanged by install').toEqual(runcBefore);
        tally.runcKept++;
      }
      tally.verified++;
    },
  );
});

describe('the matrix as a whole', () => {
  it('verified nearly every corpus file on every containerd, not just refusals', () => {
    expect(tally.verified + tally.rejectedBefore + tally.refusedByDesign).toBe(files.length * binaries.length);
    expect(tally.verified).toBeGreaterThanOrEqual(90);
    expect(tally.runcKept, 'every verified pair whose runtime had a runc before').toBeGreaterThanOrEqual(80);
  });
});
