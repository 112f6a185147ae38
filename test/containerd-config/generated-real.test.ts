import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planRuntimeConfig } from '../../src/containerd/config/plan.js';
import {
  assertChangedConfigAccepted,
  assertCurrentConfigAccepted,
  dumpedRuntimes,
  withEffectiveRunc,
} from '../../src/containerd/config/validate-plan.js';
import { containerdValidator } from '../../src/containerd/config/validator.js';
import { KataDeployError } from '../../src/core/errors.js';
import { childProcessRunner } from '../../src/host/command-runner.js';
import { privateScratch } from '../helpers/private-scratch.js';
import { containerdBinaries } from '../helpers/containerd-binaries.js';
import { request, semver } from './fixtures.js';
import { generatedConfig } from './generated-config.js';

const CONFIG = '/etc/containerd/config.toml';

describe.each(containerdBinaries())('generated configs on containerd $version', (binary) => {
  const daemon = semver(binary.version);
  const validator = containerdValidator({ runner: childProcessRunner, scratch: privateScratch(), binary: binary.path });
  const versions: (1 | 2 | 3)[] = daemon.major >= 2 ? [1, 2, 3] : [1, 2];

  // containerd 2.1 refuses a UTF-8 byte-order mark (1.6 and 1.7 accept it), so only 1.x gets BOM files.
  it('get our handlers loaded and nothing else changed, or a refusal naming what containerd would change', async () => {
    const outcomes = { verified: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(generatedConfig(versions, { bom: daemon.major < 2 }), async ({ text }) => {
        const current = new Map<string, Buffer | undefined>([[CONFIG, Buffer.from(text)]]);
        const req = request({ daemonVersion: daemon });
        let currentDump: string | undefined;
        try {
          currentDump = await assertCurrentConfigAccepted(validator, req, current);
        } catch {
          return;
        }
        const planned = withEffectiveRunc(req, currentDump);
        const plan = planRuntimeConfig(planned, current, undefined);
        try {
          const dump = await assertChangedConfigAccepted(validator, planned, current, plan, currentDump);
          const listed = dumpedRuntimes(dump ?? '');
          for (const handler of req.handlers) expect(listed.has(handler.name)).toBe(true);
          outcomes.verified++;
        } catch (error) {
          // containerd 2.1 migrates a v2 file's CRI settings differently once an import adds to the CRI
          // section (an imported empty file changes nothing, one with a runtime does): we refuse that.
          expect(error).toBeInstanceOf(KataDeployError);
          expect((error as Error).message).toMatch(
            /with the Kata handlers added, containerd would also change plugins\./,
          );
          expect(daemon.major).toBeGreaterThanOrEqual(2);
          outcomes.refused++;
        }
      }),
      { numRuns: 40 },
    );
    expect(outcomes.verified).toBeGreaterThan(10);
    // 80 real `containerd config dump` runs: ~10 s alone, over 30 s on a loaded 2-core machine.
  }, 180_000);
});
