import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planRuntimeConfig } from '../../src/containerd/config/plan.js';
import { dumpedRuntimes, validateRuntimeConfigPlan } from '../../src/containerd/config/validate-plan.js';
import { containerdValidator } from '../../src/containerd/config/validator.js';
import { execaRunner } from '../../src/host/command-runner.js';
import { containerdBinaries } from '../helpers/containerd-binaries.js';
import { request, semver } from './fixtures.js';
import { generatedConfig } from './generated-config.js';

const CONFIG = '/etc/containerd/config.toml';

describe.each(containerdBinaries())('generated configs on containerd $version', (binary) => {
  const daemon = semver(binary.version);
  const validator = containerdValidator({ runner: execaRunner, binary: binary.path });
  const versions: (1 | 2 | 3)[] = daemon.major >= 2 ? [1, 2, 3] : [1, 2];
  // containerd 2.1 refuses a UTF-8 byte-order mark (1.6 and 1.7 accept it), so only 1.x gets BOM files.

  it('are accepted with our handlers after install whenever containerd accepted them before', async () => {
    let accepted = 0;
    await fc.assert(fc.asyncProperty(generatedConfig(versions, { bom: daemon.major < 2 }), async ({ text }) => {
      const current = new Map<string, Buffer | undefined>([[CONFIG, Buffer.from(text)]]);
      const before = await validator.validate(CONFIG, current);
      if (!before.ok) return;
      accepted++;
      const req = request({ daemonVersion: daemon });
      const plan = planRuntimeConfig(req, current, undefined);
      const dump = await validateRuntimeConfigPlan(validator, req, current, plan.changes);
      const listed = dumpedRuntimes(dump ?? '');
      for (const handler of req.handlers) expect(listed.has(handler.name)).toBe(true);
    }), { numRuns: 25 });
    expect(accepted).toBeGreaterThan(5);
  });
});
