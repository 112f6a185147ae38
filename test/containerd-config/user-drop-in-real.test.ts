import { afterAll, describe, expect, it } from 'vitest';
import { planRuntimeConfig } from '../../src/containerd/config/plan.js';
import { planRuntimeConfigRemoval } from '../../src/containerd/config/removal.js';
import { readRuntimeConfigInputs } from '../../src/containerd/config/reads.js';
import { getPath, parseTomlText } from '../../src/containerd/config/toml-document.js';
import {
  assertChangedConfigAccepted,
  assertCurrentConfigAccepted,
  dumpedRuntimes,
  withEffectiveRunc,
} from '../../src/containerd/config/validate-plan.js';
import { containerdValidator } from '../../src/containerd/config/validator.js';
import { isNoop } from '../../src/core/file-change.js';
import type { KataDeployError } from '../../src/core/errors.js';
import { childProcessRunner } from '../../src/host/command-runner.js';
import { NodeHostFs } from '../../src/host/node-host-fs.js';
import { containerdBinaries } from '../helpers/containerd-binaries.js';
import { privateScratch } from '../helpers/private-scratch.js';
import { makeTempRoot } from '../helpers/temp-root.js';
import { applied, corpusBytes, corpusFiles, request, sameFiles, semver, testHandlers } from './fixtures.js';

const CONFIG = '/etc/containerd/config.toml';
const binaries = containerdBinaries();
const files = corpusFiles('containerd');
const tally = { accepted: 0, refusedOn1x: 0, versionRetried: 0, v3IdsInV2: 0, refusedOther: 0 };

/**
 * What an operator puts in the chart's containerd.userDropIn: an extra runtime (gVisor, under a name no
 * corpus file uses) and a GC tweak, in the config version the node's drop-ins use, with a comment and odd
 * spacing that must survive verbatim.
 */
function userDropIn(version: 2 | 3, ids: 2 | 3 = version): Buffer {
  const cri = ids === 3 ? 'io.containerd.cri.v1.runtime' : 'io.containerd.grpc.v1.cri';
  return Buffer.from(
    `# operator's drop-in, kept byte for byte\nversion = ${version}\n\n` +
      `[plugins."io.containerd.gc.v1.scheduler"]\n    pause_threshold   = 0.03\n\n` +
      `[plugins."${cri}".containerd.runtimes.operator-gvisor]\n  runtime_type = "io.containerd.runsc.v1"\n`,
  );
}

afterAll(() => {
  console.log(
    `user drop-in on real containerd: ${tally.accepted} accepted, ${tally.refusedOn1x} refused on 1.x (in-place ` +
      `configs), ${tally.versionRetried} needed version = 2 (${tally.v3IdsInV2} of them with v3 plugin IDs), ` +
      `${tally.refusedOther} refused for other reasons (the node's own config, as in the other matrices)`,
  );
});

describe.each(binaries)('containerd $version with CONTAINERD_USER_DROP_IN_SOURCE_FILE', (binary) => {
  const validator = containerdValidator({ runner: childProcessRunner, scratch: privateScratch(), binary: binary.path });
  const daemon = semver(binary.version);

  it.concurrent.each(files)(
    '%s: copied verbatim beside our drop-in and merged (2.x), refused naming the file (1.x); removal exact',
    async (file) => {
      const original = corpusBytes('containerd', file);
      const root = await makeTempRoot({ [CONFIG]: original });
      const attempt = async (version: 2 | 3, ids: 2 | 3 = version) => {
        const bytes = userDropIn(version, ids);
        const source = { source: '/custom-containerd-config/containerd-user-dropin.toml', bytes };
        const wanted = request({ daemonVersion: daemon, handlers: testHandlers(), userDropIn: source });
        const current = await readRuntimeConfigInputs(new NodeHostFs(root.root), wanted);
        const before = await assertCurrentConfigAccepted(validator, wanted, current);
        const plan = planRuntimeConfig(withEffectiveRunc(wanted, before), current, undefined);
        const dump = await assertChangedConfigAccepted(validator, wanted, current, plan, before);
        return { wanted, current, plan, dump: dump ?? '', source };
      };
      let outcome: Awaited<ReturnType<typeof attempt>>;
      try {
        // The operator's first guess (v3), then what the refusal asks for: the main file's version, and on
        // a v2 file that already uses v3 plugin IDs (AKS), those IDs.
        try {
          outcome = await attempt(3);
        } catch (error) {
          if (!/declares version = 3, but .* as version 2/.test((error as Error).message)) throw error;
          tally.versionRetried++;
          try {
            outcome = await attempt(2);
          } catch (retry) {
            if (!/which containerd ignores on this node/.test((retry as Error).message)) throw retry;
            tally.v3IdsInV2++;
            outcome = await attempt(2, 3);
          }
        }
      } catch (error) {
        const refusal = error as KataDeployError;
        expect(refusal.code, refusal.message).toBe('config-refused');
        if (daemon.major < 2 && /replacing each plugin section it names as a whole/.test(refusal.message)) {
          expect(refusal.message).toContain('CONTAINERD_USER_DROP_IN_SOURCE_FILE=/custom-containerd-config/');
          tally.refusedOn1x++;
        } else {
          tally.refusedOther++;
        }
        return;
      } finally {
        await root.cleanup();
      }
      expect(daemon.major).toBeGreaterThanOrEqual(2);
      const { wanted, current, plan, dump, source } = outcome;
      const userFile = plan.changes.find((change) => change.path.endsWith('/zz-kata-deploy-user.toml'));
      const ours = plan.changes.find((change) => change.path.endsWith('/kata-deploy.toml'));
      expect(userFile?.after?.equals(source.bytes), 'copied byte for byte').toBe(true);
      expect(userFile?.path.replace('zz-kata-deploy-user', 'kata-deploy')).toBe(ours?.path);
      const merged = parseTomlText('dump', dump);
      expect(getPath(merged, ['plugins', 'io.containerd.gc.v1.scheduler', 'pause_threshold'])).toBe(0.03);
      for (const name of ['operator-gvisor', 'runc', ...wanted.handlers.map((handler) => handler.name)])
        expect(dumpedRuntimes(dump).has(name), name).toBe(true);
      expect(plan.record.files.find((recorded) => recorded.path === userFile?.path)?.ownedWhole).toBe(true);

      const installed = applied(current, plan.changes);
      const again = planRuntimeConfig(wanted, installed, plan.record);
      expect(
        again.changes.filter((change) => !isNoop(change)),
        'converged',
      ).toEqual([]);
      const againDump =
        (await assertChangedConfigAccepted(validator, wanted, installed, again, dump, plan.record)) ?? '';
      expect(dumpedRuntimes(againDump).has('operator-gvisor'), 'a reinstall validates with the drop-in in place').toBe(
        true,
      );
      const { userDropIn: _unset, ...withoutUser } = wanted;
      const dropped = planRuntimeConfig(withoutUser, installed, plan.record);
      const droppedDump =
        (await assertChangedConfigAccepted(validator, withoutUser, installed, dropped, dump, plan.record)) ?? '';
      expect(dumpedRuntimes(droppedDump).has('operator-gvisor'), 'the operator runtime leaves with its drop-in').toBe(
        false,
      );
      const afterUnset = applied(installed, dropped.changes);
      expect(afterUnset.get(userFile?.path ?? '')).toBeUndefined();
      expect(sameFiles(applied(afterUnset, planRuntimeConfigRemoval(dropped.record, afterUnset)), current)).toEqual([]);
      expect(sameFiles(applied(installed, planRuntimeConfigRemoval(plan.record, installed)), current)).toEqual([]);
      tally.accepted++;
    },
  );
});

describe('the user drop-in matrix as a whole', () => {
  it('was merged on containerd 2.x for most files and refused by name on 1.x', () => {
    expect(tally.accepted + tally.refusedOn1x + tally.refusedOther).toBe(files.length * binaries.length);
    const on2 = binaries.filter((binary) => !binary.version.startsWith('1.')).length;
    const on1 = binaries.length - on2;
    expect(tally.accepted).toBeGreaterThanOrEqual(on2 * Math.floor(files.length / 2));
    expect(tally.refusedOn1x).toBeGreaterThanOrEqual(on1 * Math.floor(files.length / 2));
  });
});
