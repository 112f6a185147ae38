import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KataDeployError } from '../../src/core/errors.js';
import { handlersFor } from '../../src/core/handlers.js';
import { systemClock } from '../../src/host/clock.js';
import { silentLogger } from '../../src/host/logger.js';
import { NodeHostFs } from '../../src/host/node-host-fs.js';
import { parseSettings } from '../../src/settings/parse-settings.js';
import type { TransactionContext } from '../../src/transaction/context.js';
import { install } from '../../src/transaction/install.js';
import type { PayloadPart, RuntimeConfigPart } from '../../src/transaction/parts.js';
import { kataConfigPart, payloadPart } from '../../src/wiring/payload-parts.js';
import { compress, craftTar } from '../helpers/tar-craft.js';
import { makeTempRoot, type TempRoot } from '../helpers/temp-root.js';
import { minimalPayload, writeArchive } from '../payload/fixtures.js';

const CONFIG = 'version = 2\n';

/** What happened when, across the payload and runtime-config parts of one install. */
type Events = string[];

/** The real payload part, with the end of staging recorded. */
function observedPayload(part: PayloadPart, events: Events): PayloadPart {
  return {
    ...part,
    async stage() {
      try {
        return await part.stage();
      } finally {
        events.push('staged');
      }
    },
  };
}

/** A runtime config part that appends a line, or refuses (as containerd would) once asked. */
function runtimeConfig(fs: NodeHostFs, events: Events, refuse: boolean): RuntimeConfigPart {
  return {
    async plan() {
      events.push('runtime plan started');
      try {
        await new Promise((resolve) => setTimeout(resolve, 20));
        if (refuse) throw new KataDeployError('config-refused', 'containerd refuses the current config (test)');
        const before = await fs.readFile('/etc/containerd/config.toml');
        const after = Buffer.from(`${CONFIG}# kata\n`);
        return { changes: [{ path: '/etc/containerd/config.toml', before, after, reason: 'test' }], record: {} };
      } finally {
        events.push('runtime plan settled');
      }
    },
    async planRemoval() {
      return [];
    },
  };
}

function context(root: string, payload: string, events: Events, refuse = false): TransactionContext {
  const settings = parseSettings({
    env: {},
    arch: 'x86_64',
    flags: { hostRoot: root, payload, shims: 'qemu', requireKvm: 'false', restart: 'none' },
  });
  const fs = new NodeHostFs(root);
  const ports = { fs, log: silentLogger(), clock: systemClock };
  return {
    settings,
    handlers: handlersFor(settings),
    fs,
    clock: systemClock,
    log: ports.log,
    lockTimeoutMs: 1000,
    payload: observedPayload(payloadPart(settings, ports), events),
    kataConfig: kataConfigPart(settings, ports),
    runtimeConfig: runtimeConfig(fs, events, refuse),
    control: undefined,
  };
}

let work: string;
let good: string;
let corrupt: string;
beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'kata-concurrent-planning-'));
  good = writeArchive(work, 'good.tar.zst', compress(craftTar(minimalPayload({})), 'zst'));
  corrupt = path.join(work, 'corrupt.tar.zst');
  writeFileSync(corrupt, Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.alloc(4096, 0x41)]));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

let host: TempRoot;
afterEach(async () => host?.cleanup());

describe('install plans the runtime config while the payload unpacks', () => {
  it('starts the runtime config plan before staging has finished', async () => {
    host = await makeTempRoot({ '/etc/containerd/config.toml': CONFIG, '/run/lock': { dir: true } });
    const events: Events = [];
    await install(context(host.root, good, events));
    expect(events.indexOf('runtime plan started')).toBeLessThan(events.indexOf('staged'));
  });

  it('still reports a bad payload before a refused config, once the refusal has settled', async () => {
    host = await makeTempRoot({ '/etc/containerd/config.toml': CONFIG, '/run/lock': { dir: true } });
    const events: Events = [];
    await expect(install(context(host.root, corrupt, events, true))).rejects.toMatchObject({ code: 'bad-payload' });
    expect(events).toContain('runtime plan settled');
    expect(readdirSync(host.root).sort()).toEqual(['etc', 'run']);
  });

  it('refuses with the config error when the payload is good, leaving nothing behind', async () => {
    host = await makeTempRoot({ '/etc/containerd/config.toml': CONFIG, '/run/lock': { dir: true } });
    const events: Events = [];
    await expect(install(context(host.root, good, events, true))).rejects.toMatchObject({ code: 'config-refused' });
    expect(readdirSync(host.root).sort()).toEqual(['etc', 'run']);
  });
});
