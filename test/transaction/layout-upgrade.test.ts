import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { handlersFor, legacyKataConfigRoot, type HandlerSpec } from '../../src/core/handlers.js';
import { childProcessRunner } from '../../src/host/command-runner.js';
import { systemClock } from '../../src/host/clock.js';
import { silentLogger } from '../../src/host/logger.js';
import { NodeHostFs } from '../../src/host/node-host-fs.js';
import { parseSemVer } from '../../src/core/containerd-version.js';
import { parseSettings } from '../../src/settings/parse-settings.js';
import type { TransactionContext } from '../../src/transaction/context.js';
import { install } from '../../src/transaction/install.js';
import type { RuntimeControl } from '../../src/transaction/parts.js';
import { uninstall } from '../../src/transaction/uninstall.js';
import { kataConfigPart, payloadPart } from '../../src/wiring/payload-parts.js';
import { runtimeConfigPart } from '../../src/wiring/runtime-config-part.js';
import { containerdBinaries } from '../helpers/containerd-binaries.js';
import { corpusBytes } from '../containerd-config/fixtures.js';
import { samplePayload } from '../helpers/sample-payload.js';
import { makeTempRoot, type TempRoot } from '../helpers/temp-root.js';

const CONFIG = '/etc/containerd/config.toml';
const KATA = '/opt/kata/share/defaults/kata-containers';

/** Everything containerd reads: the main file and, on 2.x, the drop-ins of conf.d. */
function runtimeText(root: string): string {
  const dropIns = path.join(root, '/etc/containerd/conf.d');
  const extra = existsSync(dropIns)
    ? readdirSync(dropIns).map((name) => readFileSync(path.join(dropIns, name), 'utf8'))
    : [];
  return [readFileSync(path.join(root, CONFIG), 'utf8'), ...extra].join('\n');
}

/** A runtime that comes back serving whatever the config now names, counting its restarts. */
function countingRuntime(root: string, restarts: { count: number }): RuntimeControl {
  const served = (): string[] =>
    [...runtimeText(root).matchAll(/runtimes\.(kata-[\w-]+)\]/g)].map((match) => match[1]!);
  return {
    description: 'counting runtime',
    baseHandlers: ['runc'],
    restarts: true,
    preflight: async () => undefined,
    restart: async () => {
      restarts.count++;
    },
    liveHandlers: async () => [...served(), 'runc'],
    waitForHandlers: async () => ({ ready: true, elapsedMs: 0 }),
  };
}

/** What our pre-4.2 layout did: every handler's Kata config under `…/kata-containers/handlers/<handler>/`. */
function legacyLayout(handlers: readonly HandlerSpec[], installDir: string): HandlerSpec[] {
  return handlers.map((handler) => ({
    ...handler,
    configPath: `${legacyKataConfigRoot(installDir)}/${handler.name}/configuration-${handler.shim.name}.toml`,
  }));
}

function context(root: string, binary: string, version: string, restarts: { count: number }, legacy: boolean) {
  const settings = parseSettings({
    env: { DEBUG: 'true', ALLOWED_HYPERVISOR_ANNOTATIONS_X86_64: 'default_vcpus' },
    arch: 'x86_64',
    flags: { hostRoot: root, payload: samplePayload(), shims: 'qemu qemu-runtime-rs clh', requireKvm: 'false' },
  });
  const fs = new NodeHostFs(root);
  const ports = { fs, log: silentLogger(), clock: systemClock };
  const handlers = handlersFor(settings);
  const ctx: TransactionContext = {
    settings,
    handlers: legacy ? legacyLayout(handlers, settings.installDir) : handlers,
    fs,
    clock: systemClock,
    log: ports.log,
    lockTimeoutMs: 5000,
    payload: payloadPart(settings, ports),
    kataConfig: kataConfigPart(settings, ports),
    runtimeConfigDirs: ['/etc/containerd', '/etc/containerd/conf.d'],
    runtimeConfig: runtimeConfigPart(
      {
        flavour: 'containerd',
        configPath: CONFIG,
        daemonVersion: parseSemVer(version),
        suffix: undefined,
        debugLevel: true,
      },
      fs,
      childProcessRunner,
      Promise.resolve({ binary, loaderRoot: undefined }),
    ),
    control: countingRuntime(root, restarts),
  };
  return ctx;
}

let host: TempRoot | undefined;
afterEach(async () => host?.cleanup());

describe.each(containerdBinaries())('upgrading a node from our pre-4.2 layout (containerd $version)', (binary) => {
  const title =
    'moves every handler to runtimes/ and custom-runtimes/, drops the old dirs, restarts once, uninstalls exactly';
  it(title, async () => {
    const original = corpusBytes('containerd', 'kind/config.toml');
    host = await makeTempRoot({ [CONFIG]: original, '/run/lock': { dir: true } });
    const root = host.root;
    const first = { count: 0 };
    await install(context(root, binary.path, binary.version, first, true));
    expect(existsSync(path.join(root, KATA, 'handlers/kata-qemu-debug/config.d/20-debug.toml'))).toBe(true);
    expect(runtimeText(root)).toContain(`${KATA}/handlers/kata-qemu/configuration-qemu.toml`);

    const second = { count: 0 };
    await install(context(root, binary.path, binary.version, second, false));
    expect(second.count).toBe(1);
    expect(existsSync(path.join(root, KATA, 'handlers'))).toBe(false);
    expect(existsSync(path.join(root, KATA, 'runtimes/qemu/configuration-qemu.toml'))).toBe(true);
    expect(
      existsSync(path.join(root, KATA, 'runtime-rs/runtimes/qemu-runtime-rs/configuration-qemu-runtime-rs.toml')),
    ).toBe(true);
    expect(existsSync(path.join(root, KATA, 'custom-runtimes/kata-clh-debug/config.d/20-debug.toml'))).toBe(true);
    const config = runtimeText(root);
    expect(config).not.toContain('/handlers/');
    expect(config).toContain(`${KATA}/custom-runtimes/kata-qemu-debug/configuration-qemu.toml`);

    const third = { count: 0 };
    const converged = await install(context(root, binary.path, binary.version, third, false));
    expect(converged.changes).toEqual([]);
    expect(third.count).toBe(0);

    await uninstall(context(root, binary.path, binary.version, { count: 0 }, false));
    expect(readFileSync(path.join(root, CONFIG)).equals(original)).toBe(true);
    expect(existsSync(path.join(root, 'opt/kata'))).toBe(false);
    expect(existsSync(path.join(root, 'etc/containerd/conf.d/kata-deploy.toml'))).toBe(false);
  });
});
