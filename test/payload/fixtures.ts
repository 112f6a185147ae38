import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SHIM_CATALOGUE } from '../../src/core/shims.js';
import { systemClock } from '../../src/host/clock.js';
import { silentLogger } from '../../src/host/logger.js';
import { NodeHostFs } from '../../src/host/node-host-fs.js';
import { handlersFor } from '../../src/core/handlers.js';
import { parseSettings } from '../../src/settings/parse-settings.js';
import type { TransactionContext } from '../../src/transaction/context.js';
import { kataConfigPart, payloadPart } from '../../src/wiring/payload-parts.js';
import type { PayloadSettings } from '../../src/payload/types.js';
import type { CommitResult, PayloadPorts, StagedPayload } from '../../src/payload/types.js';
import { commitStagedPayload, finalizePayload } from '../../src/payload/commit.js';
import { DEFAULT_LIMITS, type PayloadLimits } from '../../src/payload/entry-policy.js';
import { ELF_X86_64, fakeElf, type CraftEntry } from '../helpers/tar-craft.js';
// @ts-expect-error plain ESM script without types
import { renderSampleConfig } from '../../scripts/sample-kata-config.mjs';

const K = './opt/kata';

/** The smallest payload that serves the `qemu` (Go) and `qemu-runtime-rs` shims on x86_64. */
export function minimalPayload(
  options: { shimBody?: Buffer; extra?: CraftEntry[]; omit?: string[]; version?: string } = {},
): CraftEntry[] {
  const render = (shim: string): string => renderSampleConfig(SHIM_CATALOGUE.get(shim), 'x86_64') as string;
  const entries: CraftEntry[] = [
    { name: './', type: 'dir' },
    { name: './opt/', type: 'dir' },
    { name: `${K}/`, type: 'dir' },
    { name: `${K}/VERSION`, body: `${options.version ?? '4.0.0'}\n` },
    { name: `${K}/bin/`, type: 'dir' },
    { name: `${K}/bin/containerd-shim-kata-v2`, body: options.shimBody ?? fakeElf(ELF_X86_64), mode: 0o755 },
    { name: `${K}/bin/qemu-system-x86_64`, body: fakeElf(ELF_X86_64, 8192), mode: 0o755 },
    { name: `${K}/runtime-rs/bin/containerd-shim-kata-v2`, body: fakeElf(ELF_X86_64, 6000), mode: 0o755 },
    { name: `${K}/libexec/virtiofsd`, body: fakeElf(ELF_X86_64, 3000), mode: 0o755 },
    { name: `${K}/share/kata-containers/vmlinuz-6.18.35-200`, body: 'kernel'.repeat(1000) },
    { name: `${K}/share/kata-containers/vmlinuz.container`, type: 'symlink', linkName: 'vmlinuz-6.18.35-200' },
    { name: `${K}/share/kata-containers/kata-ubuntu-noble.image`, body: 'image'.repeat(2000) },
    { name: `${K}/share/kata-containers/kata-containers.img`, type: 'symlink', linkName: 'kata-ubuntu-noble.image' },
    { name: `${K}/share/defaults/kata-containers/configuration-qemu.toml`, body: render('qemu') },
    {
      name: `${K}/share/defaults/kata-containers/configuration.toml`,
      type: 'symlink',
      linkName: 'configuration-qemu.toml',
    },
    {
      name: `${K}/share/defaults/kata-containers/runtime-rs/configuration-qemu-runtime-rs.toml`,
      body: render('qemu-runtime-rs'),
    },
    ...(options.extra ?? []),
  ];
  return entries.filter((entry) => !(options.omit ?? []).some((omitted) => entry.name.endsWith(omitted)));
}

/** Settings for a payload test: the install dir is /opt/kata on the temp host root. */
export function payloadSettings(payload: string, overrides: Partial<PayloadSettings> = {}): PayloadSettings {
  return {
    payload,
    payloadSha256: undefined,
    allowUnverifiedPayload: false,
    installDir: '/opt/kata',
    shims: ['qemu', 'qemu-runtime-rs'],
    arch: 'x86_64',
    multiInstallSuffix: undefined,
    ...overrides,
  };
}

export function payloadPorts(root: string, limits: PayloadLimits = DEFAULT_LIMITS): PayloadPorts {
  return { fs: new NodeHostFs(root), log: silentLogger(), clock: systemClock, limits };
}

/** Every path under a dir with its type and content digest, to prove a failed run changed nothing. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const name of readdirSync(path.join(dir, rel)).sort()) {
      const childRel = path.join(rel, name);
      const real = path.join(dir, childRel);
      const stats = lstatSync(real);
      if (stats.isDirectory()) {
        out[childRel] = `dir ${(stats.mode & 0o7777).toString(8)}`;
        walk(childRel);
      } else if (stats.isSymbolicLink()) out[childRel] = `link ${readlinkSync(real)}`;
      else
        out[childRel] =
          `file ${(stats.mode & 0o7777).toString(8)} ${createHash('sha256').update(readFileSync(real)).digest('hex')}`;
    }
  };
  walk('');
  return out;
}

/** Writes an archive next to (not inside) the host root, as the image's own payload would be. */
export function writeArchive(dir: string, name: string, data: Buffer): string {
  const file = path.join(dir, name);
  writeFileSync(file, data);
  return file;
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A whole successful switch: commit, then finalize (what an install does once its ledger commits). */
export async function commitAndFinalize(
  staged: StagedPayload,
  settings: PayloadSettings,
  ports: PayloadPorts,
): Promise<CommitResult> {
  const result = await commitStagedPayload(staged, settings, ports);
  await finalizePayload(result, settings, ports);
  return result;
}

/**
 * The part of a TransactionContext that installs a real payload and real Kata configs on a temp host root,
 * for transaction tests that bring their own runtime config part and runtime control.
 */
export function realPayloadContext(root: string, payload: string, shims: string) {
  const settings = parseSettings({
    env: {},
    arch: 'x86_64',
    flags: { hostRoot: root, payload, shims, requireKvm: 'false', readinessTimeout: '1' },
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
    payload: payloadPart(settings, ports),
    kataConfig: kataConfigPart(settings, ports),
    runtimeConfigDirs: ['/etc/containerd'],
  } satisfies Partial<TransactionContext>;
}
