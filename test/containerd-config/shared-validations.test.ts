import { describe, expect, it } from 'vitest';
import type { CommandRunner } from '../../src/host/command-runner.js';
import { childProcessRunner } from '../../src/host/command-runner.js';
import { NodeHostFs } from '../../src/host/node-host-fs.js';
import { runtimeConfigPart } from '../../src/wiring/runtime-config-part.js';
import { containerdBinaries } from '../helpers/containerd-binaries.js';
import { makeTempRoot } from '../helpers/temp-root.js';
import { request, semver, testHandlers } from './fixtures.js';

const CONFIG = '/etc/containerd/config.toml';
const OPERATOR = `version = 2
[plugins."io.containerd.grpc.v1.cri".containerd]
  default_runtime_name = "runc"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
`;

/** The real runner, counting `config dump` runs and how many of them overlapped. */
function countingRunner(): CommandRunner & { dumps: number; overlapped: number } {
  let running = 0;
  const counter = {
    dumps: 0,
    overlapped: 0,
    async run(file: string, args: readonly string[], options?: Parameters<CommandRunner['run']>[2]) {
      const dump = args.includes('dump');
      if (dump) {
        counter.dumps += 1;
        if (running > 0) counter.overlapped += 1;
        running += 1;
      }
      try {
        return await childProcessRunner.run(file, args, options);
      } finally {
        if (dump) running -= 1;
      }
    },
  };
  return counter;
}

const binary = containerdBinaries().find((candidate) => candidate.version.startsWith('1.6.'));

describe.skipIf(binary === undefined)('the runtime config part validates with the real containerd 1.6', () => {
  it('runs the current and the changed config through containerd at the same time', async () => {
    const root = await makeTempRoot({ [CONFIG]: OPERATOR });
    try {
      const runner = countingRunner();
      const { handlers, ...rest } = request({ daemonVersion: semver(binary!.version) });
      const part = runtimeConfigPart(
        rest,
        new NodeHostFs(root.root),
        runner,
        Promise.resolve({
          binary: binary!.path,
          loaderRoot: undefined,
        }),
      );
      const plan = await part.plan(handlers, undefined);
      expect(plan.changes.some((change) => !change.before?.equals(change.after ?? Buffer.alloc(0)))).toBe(true);
      expect(runner).toMatchObject({ dumps: 2, overlapped: 1 });
    } finally {
      await root.cleanup();
    }
  });

  it('waits for the current dump when it must add runc, and copies runc from it', async () => {
    const bare = 'version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "local/pause:3.9"\n';
    const root = await makeTempRoot({ [CONFIG]: bare });
    try {
      const runner = countingRunner();
      const { handlers, ...rest } = request({ daemonVersion: semver(binary!.version) });
      const choice = { binary: binary!.path, loaderRoot: undefined };
      const plan = await runtimeConfigPart(rest, new NodeHostFs(root.root), runner, Promise.resolve(choice)).plan(
        handlers,
        undefined,
      );
      expect(runner).toMatchObject({ dumps: 2, overlapped: 0 });
      const written = plan.changes.find((change) => change.path === CONFIG)?.after?.toString() ?? '';
      expect(written).toContain('[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]');
      expect(written).toMatch(/SystemdCgroup = false/);
    } finally {
      await root.cleanup();
    }
  });

  it('runs containerd once when the plan changes nothing, and not at all on the bytes it accepted', async () => {
    const root = await makeTempRoot({ [CONFIG]: OPERATOR });
    try {
      const fs = new NodeHostFs(root.root);
      const { handlers, ...rest } = request({ daemonVersion: semver(binary!.version), handlers: testHandlers() });
      const choice = { binary: binary!.path, loaderRoot: undefined };
      const first = await runtimeConfigPart(rest, fs, countingRunner(), Promise.resolve(choice)).plan(
        handlers,
        undefined,
      );
      for (const change of first.changes) {
        if (change.after !== undefined) await fs.writeFileAtomic(change.path, change.after);
      }
      // A record without the accepted config's key (an older ledger): one run for the unchanged candidate.
      const { acceptedConfig, ...older } = first.record as { acceptedConfig?: string };
      expect(acceptedConfig).toBeDefined();
      const runner = countingRunner();
      const again = await runtimeConfigPart(rest, fs, runner, Promise.resolve(choice)).plan(handlers, older);
      expect(again.changes.every((change) => change.after?.equals(change.before ?? Buffer.alloc(1)))).toBe(true);
      expect(runner.dumps).toBe(1);
      // The record of the install that wrote these bytes: containerd's verdict is known, nothing runs.
      const known = countingRunner();
      const converged = await runtimeConfigPart(rest, fs, known, Promise.resolve(choice)).plan(handlers, first.record);
      expect(converged.changes.every((change) => change.after?.equals(change.before ?? Buffer.alloc(1)))).toBe(true);
      expect(known.dumps).toBe(0);
    } finally {
      await root.cleanup();
    }
  });
});
