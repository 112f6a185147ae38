import { parseTomlValues } from '../../core/toml-values.js';
import { KataDeployError } from '../../core/errors.js';
import { shimConfigRelPath, type ShimInfo } from '../../core/shims.js';
import type { HostFs } from '../../host/host-fs.js';
import type { StagedPayload } from '../types.js';

/** The parts of a shim's pristine configuration the drop-ins depend on. */
export interface PristineConfig {
  /** `qemu`, `clh`, `cloud-hypervisor`, `firecracker`, `dragonball`, … as the file names its table. */
  readonly hypervisorName: string;
  readonly hypervisor: Readonly<Record<string, unknown>>;
  /** The agent table's name (`kata`). */
  readonly agentName: string;
  readonly document: Readonly<Record<string, unknown>>;
}

/** Parses a pristine configuration, refusing one without exactly one hypervisor table. */
export function parsePristine(shim: string, bytes: Buffer): PristineConfig {
  let document: Record<string, unknown>;
  try {
    document = parseTomlValues(bytes.toString('utf8'));
  } catch (error) {
    throw new KataDeployError(
      'bad-payload',
      `pristine configuration of shim "${shim}" is not valid TOML: ${(error as Error).message}`,
      { hint: 'use an unmodified kata-static release tarball', cause: error },
    );
  }
  const hypervisors = Object.entries((document.hypervisor ?? {}) as Record<string, Record<string, unknown>>);
  if (hypervisors.length !== 1) {
    throw new KataDeployError(
      'bad-payload',
      `pristine configuration of shim "${shim}" has ${hypervisors.length} [hypervisor.*] tables, expected one`,
      { hint: 'use an unmodified kata-static release tarball' },
    );
  }
  const [hypervisorName, hypervisor] = hypervisors[0]!;
  const agentName = Object.keys((document.agent ?? {}) as Record<string, unknown>)[0] ?? 'kata';
  return { hypervisorName, hypervisor, agentName, document };
}

/**
 * The pristine configuration bytes of every selected shim, for planKataConfigFiles: from memory when
 * the payload was just unpacked, from the installed tree when it was already in place.
 */
export async function loadPristineConfigs(
  staged: StagedPayload,
  shims: readonly ShimInfo[],
  fs: HostFs,
): Promise<Map<string, Buffer>> {
  const configs = new Map<string, Buffer>();
  // Read at once (a converged reinstall reads them all from the installed tree), judged in order.
  const read = await Promise.all(
    shims.map(async (shim) => {
      const rel = shimConfigRelPath(shim);
      return staged.pristineConfigs.get(rel) ?? (await fs.readIfExists(`${staged.location.installDir}/${rel}`));
    }),
  );
  for (const [index, shim] of shims.entries()) {
    const rel = shimConfigRelPath(shim);
    const bytes = read[index];
    if (bytes === undefined)
      throw new KataDeployError(
        'bad-payload',
        `payload lacks ${staged.location.installDir}/${rel}, the pristine configuration of shim "${shim.name}"`,
        { hint: 'reinstall the payload' },
      );
    configs.set(shim.name, bytes);
  }
  return configs;
}
