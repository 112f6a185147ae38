import { parseTomlValues } from '../core/toml-values.js';
import type { Arch } from '../core/arch.js';
import { KataDeployError } from '../core/errors.js';
import { shimBinaryRelPath, shimConfigRelPath, type ShimInfo } from '../core/shims.js';
import { PAYLOAD_ROOT } from './entry-policy.js';
import type { PayloadIndex } from './payload-index.js';

/** ELF e_machine per arch, to tell a payload built for another CPU before installing it. */
const ELF_MACHINE: Readonly<Record<Arch, number>> = { x86_64: 0x3e, aarch64: 0xb7, ppc64le: 0x15, s390x: 0x16 };
const ARCH_BY_MACHINE = new Map(Object.entries(ELF_MACHINE).map(([arch, machine]) => [machine, arch]));

/** What the unpack learnt that the requirement check reads. */
export interface UnpackedFacts {
  readonly index: PayloadIndex;
  readonly configs: ReadonlyMap<string, Buffer>;
  readonly elfMachines: ReadonlyMap<string, number>;
}

/** One file a shim needs, with why. */
interface Need {
  readonly rel: string;
  readonly why: string;
}

function missing(shim: string, rel: string, why: string): KataDeployError {
  return new KataDeployError(
    'bad-payload',
    `payload lacks ${PAYLOAD_ROOT}/${rel} (${why}), which shim "${shim}" needs`,
    {
      hint: `use a payload that ships "${shim}", or drop it from SHIMS`,
    },
  );
}

/** The hypervisor table of a pristine config: the one `[hypervisor.<name>]` it has. */
function hypervisorTable(shim: string, rel: string, bytes: Buffer): Record<string, unknown> {
  let parsed: Record<string, unknown>;
  try {
    parsed = parseTomlValues(bytes.toString('utf8'));
  } catch (error) {
    throw new KataDeployError(
      'bad-payload',
      `payload member ${PAYLOAD_ROOT}/${rel} is not valid TOML: ${(error as Error).message}`,
      { hint: 'use an unmodified kata-static release tarball', cause: error },
    );
  }
  const tables = Object.values((parsed.hypervisor ?? {}) as Record<string, Record<string, unknown>>);
  if (tables.length !== 1)
    throw new KataDeployError(
      'bad-payload',
      `payload member ${PAYLOAD_ROOT}/${rel} has ${tables.length} [hypervisor.*] tables, expected one`,
      { hint: `shim "${shim}" cannot be configured from it` },
    );
  return tables[0]!;
}

/** Files a shim's pristine config points at inside /opt/kata, read from the config itself. */
function needsFromConfig(table: Record<string, unknown>): Need[] {
  const needs: Need[] = [];
  const add = (key: string): void => {
    const value = table[key];
    if (typeof value === 'string' && value.startsWith(`/${PAYLOAD_ROOT}/`))
      needs.push({ rel: value.slice(PAYLOAD_ROOT.length + 2), why: key });
  };
  for (const key of ['path', 'kernel', 'image', 'initrd', 'jailer_path', 'firmware']) add(key);
  if (typeof table.shared_fs === 'string' && table.shared_fs.startsWith('virtio-fs')) add('virtio_fs_daemon');
  return needs;
}

function checkArch(shim: string, rel: string, machine: number | undefined, arch: Arch): void {
  if (machine === undefined || machine === ELF_MACHINE[arch]) return;
  const built = ARCH_BY_MACHINE.get(machine) ?? `ELF machine 0x${machine.toString(16)}`;
  throw new KataDeployError(
    'bad-payload',
    `payload is built for ${built}: ${PAYLOAD_ROOT}/${rel} (needed by shim "${shim}") is not an ${arch} binary`,
    {
      hint: `use the kata-static tarball for ${arch} on this node`,
    },
  );
}

/**
 * Refuses a payload that cannot serve the selected shims on this node: a missing shim binary, pristine
 * config, or any asset that config points at (hypervisor, kernel, image or initrd, jailer, firmware,
 * virtiofsd), or executables built for another CPU. Derived from each shim's own pristine config, so a
 * new release's asset names need no code change here. Pure: reads only what the unpack recorded.
 */
export function checkShimRequirements(shims: readonly ShimInfo[], arch: Arch, facts: UnpackedFacts): void {
  const exists = (rel: string): boolean => facts.index.nodes.get(facts.index.resolve(rel))?.kind === 'file';
  for (const shim of shims) {
    const binary = shimBinaryRelPath(shim);
    if (!exists(binary)) throw missing(shim.name, binary, 'the containerd shim');
    checkArch(shim.name, binary, facts.elfMachines.get(facts.index.resolve(binary)), arch);
    const configRel = shimConfigRelPath(shim);
    const config = facts.configs.get(facts.index.resolve(configRel));
    if (config === undefined) throw missing(shim.name, configRel, 'its pristine Kata configuration');
    const table = hypervisorTable(shim.name, configRel, config);
    for (const need of needsFromConfig(table)) {
      if (!exists(need.rel)) throw missing(shim.name, need.rel, `"${need.why}" in ${configRel}`);
      if (need.why === 'path' || need.why === 'jailer_path')
        checkArch(shim.name, need.rel, facts.elfMachines.get(facts.index.resolve(need.rel)), arch);
    }
  }
}
