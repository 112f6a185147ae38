import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { NodeHostFs } from '../../src/host/node-host-fs.js';
import type { TransactionContext } from '../../src/transaction/context.js';
import { install } from '../../src/transaction/install.js';
import { status } from '../../src/transaction/status.js';
import type { Readiness, RuntimeConfigPart, RuntimeControl } from '../../src/transaction/parts.js';
import { compress, craftTar } from '../helpers/tar-craft.js';
import { makeTempRoot, type TempRoot } from '../helpers/temp-root.js';
import { minimalPayload, realPayloadContext, snapshot, writeArchive } from './fixtures.js';

const CONFIG = 'version = 2\n';

/** The runtime's config part reduced to one appended line: enough for install to decide a restart. */
function appendingRuntimeConfig(fs: NodeHostFs, line: string): RuntimeConfigPart {
  return {
    async plan() {
      const before = await fs.readFile('/etc/containerd/config.toml');
      return {
        changes: [
          { path: '/etc/containerd/config.toml', before, after: Buffer.from(`${CONFIG}${line}\n`), reason: 'test' },
        ],
        record: { line },
      };
    },
    async planRemoval() {
      return [];
    },
  };
}

/** A runtime that restarts fine and then serves the handlers, or never does. */
function runtime(ready: boolean): RuntimeControl {
  const answer: Readiness = ready
    ? { ready: true, elapsedMs: 0 }
    : { ready: false, reason: 'the handlers never appeared (test runtime)' };
  return {
    description: 'test runtime',
    restarts: true,
    baseHandlers: ['runc'],
    preflight: async () => undefined,
    restart: async () => undefined,
    liveHandlers: async () => (ready ? ['kata-qemu', 'kata-qemu-runtime-rs', 'runc'] : []),
    waitForHandlers: async () => answer,
  };
}

function context(root: string, payload: string, ready: boolean, line: string): TransactionContext {
  const real = realPayloadContext(root, payload, 'qemu qemu-runtime-rs');
  return { ...real, runtimeConfig: appendingRuntimeConfig(real.fs, line), control: runtime(ready) };
}

let work: string;
let v1: string;
let v2: string;
beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'kata-failed-upgrade-'));
  v1 = writeArchive(
    work,
    'v1.tar.zst',
    compress(craftTar(minimalPayload({ extra: [{ name: './opt/kata/bin/only-in-v1', body: 'old' }] })), 'zst'),
  );
  v2 = writeArchive(work, 'v2.tar.zst', compress(craftTar(minimalPayload({ version: '4.1.0' })), 'zst'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

let host: TempRoot;
afterEach(async () => host?.cleanup());

describe('an upgrade whose runtime never comes back', () => {
  it('leaves the old payload in place beside the old configs', async () => {
    host = await makeTempRoot({ '/etc/containerd/config.toml': CONFIG, '/run/lock': { dir: true } });
    await install(context(host.root, v1, true, '# v1'));
    const oldTree = snapshot(path.join(host.root, 'opt/kata'));
    const oldConfig = readFileSync(path.join(host.root, 'etc/containerd/config.toml'), 'utf8');

    await expect(install(context(host.root, v2, false, '# v2'))).rejects.toMatchObject({ code: 'restart-failed' });
    expect(readFileSync(path.join(host.root, 'etc/containerd/config.toml'), 'utf8')).toBe(oldConfig);
    expect(snapshot(path.join(host.root, 'opt/kata'))).toEqual(oldTree);
    expect(readdirSync(path.join(host.root, 'opt'))).toEqual(['kata']);
    expect(readdirSync(path.join(host.root, 'var/lib/kata-deploy/default'))).not.toContain(
      'payload-manifest.next.json',
    );
  });

  it('leaves no drift: status is healthy on the old install (no stale digest of the rolled-back one)', async () => {
    host = await makeTempRoot({ '/etc/containerd/config.toml': CONFIG, '/run/lock': { dir: true } });
    await install(context(host.root, v1, true, '# v1'));
    await expect(install(context(host.root, v2, false, '# v2'))).rejects.toMatchObject({ code: 'restart-failed' });
    const report = await status(context(host.root, v1, true, '# v1'));
    expect(report.drift).toEqual([]);
    expect(report.healthy).toBe(true);
  });

  it('removes a first install whose runtime never comes back', async () => {
    host = await makeTempRoot({ '/etc/containerd/config.toml': CONFIG, '/run/lock': { dir: true } });
    await expect(install(context(host.root, v2, false, '# v2'))).rejects.toMatchObject({ code: 'restart-failed' });
    expect(readdirSync(host.root).sort()).toEqual(['etc', 'run']);
    expect(readFileSync(path.join(host.root, 'etc/containerd/config.toml'), 'utf8')).toBe(CONFIG);
  });
});
