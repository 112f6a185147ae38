import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  assertChangedConfigAccepted,
  assertCurrentConfigAccepted,
  containerdValidator,
  planRuntimeConfig,
  planRuntimeConfigRemoval,
  readRuntimeConfigInputs,
} from '../../src/containerd/config/index.js';
import type { FileChange } from '../../src/core/file-change.js';
import { childProcessRunner } from '../../src/host/command-runner.js';
import type { HostFs } from '../../src/host/host-fs.js';
import { NodeHostFs } from '../../src/host/node-host-fs.js';
import { privateScratch } from '../helpers/private-scratch.js';
import { containerdBinaries } from '../helpers/containerd-binaries.js';
import { makeTempRoot, type TempRoot } from '../helpers/temp-root.js';
import { corpusBytes, request, semver } from './fixtures.js';

/** What the lead's step runner does with a plan, reduced to the writes. */
async function write(fs: HostFs, changes: readonly FileChange[]): Promise<void> {
  for (const change of changes) {
    if (change.after === undefined) await fs.remove(change.path);
    else {
      await fs.mkdirp(path.posix.dirname(change.path));
      await fs.writeFileAtomic(change.path, change.after, { mode: change.mode ?? 0o644 });
    }
  }
}

async function snapshot(dir: string): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  const walk = async (at: string): Promise<void> => {
    for (const entry of await readdir(at, { withFileTypes: true })) {
      const full = path.join(at, entry.name);
      if (entry.isDirectory()) await walk(full);
      else result[path.relative(dir, full)] = (await readFile(full)).toString('base64');
    }
  };
  await walk(dir);
  return result;
}

describe.each(containerdBinaries())('install then uninstall on a host root with containerd $version', (binary) => {
  let root: TempRoot | undefined;
  afterEach(async () => {
    await root?.cleanup();
    root = undefined;
  });

  it('validates, writes, converges and leaves every file byte for byte as it was', async () => {
    const main = binary.version.startsWith('2.')
      ? 'containerd-upstream/docs-cri-config.containerd2x-full.toml'
      : 'containerd-upstream/custom-1.7.toml';
    root = await makeTempRoot({ '/etc/containerd/config.toml': corpusBytes('containerd', main) });
    const before = await snapshot(root.root);
    const fs = new NodeHostFs(root.root);
    const validator = containerdValidator({
      runner: childProcessRunner,
      scratch: privateScratch(),
      binary: binary.path,
    });
    const req = request({ daemonVersion: semver(binary.version) });

    const current = await readRuntimeConfigInputs(fs, req);
    const currentDump = await assertCurrentConfigAccepted(validator, req, current);
    const plan = planRuntimeConfig(req, current, undefined);
    await assertChangedConfigAccepted(validator, req, current, plan, currentDump);
    await write(fs, plan.changes);
    const record = JSON.parse(JSON.stringify(plan.record)) as typeof plan.record;

    const again = await readRuntimeConfigInputs(fs, req, record);
    expect(planRuntimeConfig(req, again, record).changes).toEqual([]);
    await assertCurrentConfigAccepted(validator, req, again);

    await write(fs, planRuntimeConfigRemoval(record, await readRuntimeConfigInputs(fs, req, record)));
    const after = await snapshot(root.root);
    expect(after).toEqual(before);
  });
});
