import { readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseSemVer } from '../../src/core/containerd-version.js';
import type { NodeHostFs } from '../../src/host/node-host-fs.js';
import type { TransactionContext } from '../../src/transaction/context.js';
import { install } from '../../src/transaction/install.js';
import type { RuntimeConfigPart, RuntimeControl } from '../../src/transaction/parts.js';
import { status } from '../../src/transaction/status.js';
import { uninstall } from '../../src/transaction/uninstall.js';
import { shimLaunchPart } from '../../src/wiring/shim-launch-part.js';
import { compress, craftTar } from '../helpers/tar-craft.js';
import { makeTempRoot, type TempRoot } from '../helpers/temp-root.js';
import { minimalPayload, realPayloadContext, writeArchive } from '../payload/fixtures.js';

const CONFIG = 'version = 2\n';
const LINK = '/usr/local/sbin/containerd-shim-kata-qemu-v2';

function appendingRuntimeConfig(fs: NodeHostFs): RuntimeConfigPart {
  return {
    async plan() {
      const before = await fs.readFile('/etc/containerd/config.toml');
      const after = Buffer.from(`${CONFIG}# kata\n`);
      return { changes: [{ path: '/etc/containerd/config.toml', before, after, reason: 'test' }], record: {} };
    },
    async planRemoval() {
      const before = await fs.readFile('/etc/containerd/config.toml');
      return [{ path: '/etc/containerd/config.toml', before, after: Buffer.from(CONFIG), reason: 'test' }];
    },
  };
}

/** A runtime that restarts (running `onRestart`, e.g. someone dropping a file in its lookup) and serves. */
function runtime(onRestart: () => void): RuntimeControl {
  return {
    description: 'test runtime',
    baseHandlers: ['runc'],
    restarts: true,
    preflight: async () => undefined,
    restart: async () => onRestart(),
    liveHandlers: async () => ['kata-qemu', 'runc'],
    waitForHandlers: async () => ({ ready: true, elapsedMs: 0 }),
  };
}

function context(
  root: string,
  payload: string,
  daemon: string,
  onRestart: () => void = () => undefined,
  unit: string | undefined = undefined,
): TransactionContext {
  const real = realPayloadContext(root, payload, 'qemu');
  const fs = real.fs;
  return {
    ...real,
    runtimeConfig: appendingRuntimeConfig(fs),
    control: runtime(onRestart),
    // No process to read: the daemon's PATH is systemd's default, its working directory `/`.
    shims: shimLaunchPart(
      { runtime: 'containerd', daemonVersion: parseSemVer(daemon), mainPid: async () => undefined, unit },
      fs,
    ),
  };
}

let work: string;
let payload: string;
beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'kata-launch-readiness-'));
  payload = writeArchive(work, 'p.tar.zst', compress(craftTar(minimalPayload({})), 'zst'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

let host: TempRoot;
afterEach(async () => host?.cleanup());

async function node(): Promise<TempRoot> {
  return makeTempRoot({
    '/etc/containerd/config.toml': CONFIG,
    '/run/lock': { dir: true },
    '/usr/local/sbin': { dir: true },
  });
}

describe('launch readiness: the shim each handler resolves to', () => {
  it('links the handler onto PATH on containerd 1.6.20 and removes the link at uninstall', async () => {
    host = await node();
    const result = await install(context(host.root, payload, '1.6.20'));
    expect(result.shimLinks.map((link) => link.path)).toEqual([LINK]);
    expect(readlinkSync(path.join(host.root, LINK))).toBe('/opt/kata/bin/containerd-shim-kata-v2');
    const report = await status(context(host.root, payload, '1.6.20'));
    expect(report.launch).toMatchObject([{ handler: 'kata-qemu', via: 'PATH', exec: LINK, launchable: true }]);
    await uninstall(context(host.root, payload, '1.6.20'));
    expect(readdirSync(path.join(host.root, 'usr/local/sbin'))).toEqual([]);
  });

  it("takes the PATH from the unit's Environment= when no process can be read (the DaemonSet)", async () => {
    host = await makeTempRoot({
      '/etc/containerd/config.toml': CONFIG,
      '/run/lock': { dir: true },
      '/usr/local/sbin': { dir: true },
      '/opt/node-bin': { dir: true },
      '/lib/systemd/system/containerd.service': '[Service]\nEnvironment="PATH=/opt/node-bin:/usr/local/sbin"\n',
    });
    const ctx = context(host.root, payload, '1.6.20', () => undefined, 'containerd.service');
    const result = await install(ctx);
    expect(result.shimLinks.map((link) => link.path)).toEqual(['/opt/node-bin/containerd-shim-kata-qemu-v2']);
    expect(await ctx.shims?.describe()).toContain('/lib/systemd/system/containerd.service');
  });

  it('needs no link where runtime_path is honoured (1.7.1)', async () => {
    host = await node();
    const result = await install(context(host.root, payload, '1.7.1'));
    expect(result.shimLinks).toEqual([]);
    expect(readdirSync(path.join(host.root, 'usr/local/sbin'))).toEqual([]);
    const report = await status(context(host.root, payload, '1.7.1'));
    expect(report.launch).toMatchObject([{ via: 'runtime_path', launchable: true }]);
  });

  it('rolls back (exit 6) when after the restart the runtime would exec a file that is not our shim', async () => {
    host = await node();
    const shadow = path.join(host.root, 'containerd-shim-kata-qemu-v2');
    const ctx = context(host.root, payload, '1.6.20', () => writeFileSync(shadow, '#!/bin/sh\n', { mode: 0o755 }));
    await expect(install(ctx)).rejects.toMatchObject({
      code: 'restart-failed',
      message: expect.stringContaining('kata-qemu would run /containerd-shim-kata-qemu-v2, which is not'),
    });
    expect(readFileSync(path.join(host.root, 'etc/containerd/config.toml'), 'utf8')).toBe(CONFIG);
    expect(readdirSync(path.join(host.root, 'usr/local/sbin')), 'the uncommitted link is gone').toEqual([]);
    expect(readFileSync(shadow, 'utf8'), 'the file we did not make is left alone').toBe('#!/bin/sh\n');
    expect(readdirSync(host.root).sort()).toEqual(['containerd-shim-kata-qemu-v2', 'etc', 'run', 'usr']);
  });

  it('refuses before writing when a file beside the working directory would shadow the link', async () => {
    host = await node();
    writeFileSync(path.join(host.root, 'containerd-shim-kata-qemu-v2'), 'x');
    await expect(install(context(host.root, payload, '1.6.20'))).rejects.toMatchObject({ code: 'config-refused' });
    expect(readFileSync(path.join(host.root, 'etc/containerd/config.toml'), 'utf8')).toBe(CONFIG);
    expect(readdirSync(path.join(host.root, 'usr/local/sbin'))).toEqual([]);
  });
});
