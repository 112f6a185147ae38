import { parse as parseToml } from 'smol-toml';
import { KataDeployError } from '../core/errors.js';
import { HOST_OVERHEAD, KATA_DEFAULT_MEMORY_MIB, KATA_DEFAULT_VCPUS } from '../core/pod-overhead.js';
import type { Hypervisor } from '../core/shims.js';

/** A RuntimeClass's `overhead.podFixed`, as Kubernetes quantities. */
export interface PodFixed {
  readonly memory: string;
  readonly cpu: string;
}

/** The guest size a Kata config asks for. */
export interface GuestSize {
  readonly memoryMiB: number;
  readonly vcpus: number;
}

function positive(value: unknown, field: string, source: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new KataDeployError('bad-payload', `${source}: ${field} = ${String(value)} is not a positive number`, {
      hint: 'fix the shim configuration in the payload',
    });
  }
  return value;
}

/**
 * Reads `default_memory` (MiB) and `default_vcpus` from the first `[hypervisor.<name>]` table of a Kata
 * configuration text. Kata's defaults apply to a value left out; runtime-rs allows fractional vCPUs.
 */
export function guestSizeFromConfig(text: string, source: string): GuestSize {
  let parsed: Record<string, unknown>;
  try {
    parsed = parseToml(text) as Record<string, unknown>;
  } catch (error) {
    throw new KataDeployError('bad-payload', `${source} is not valid TOML: ${(error as Error).message}`, {
      hint: 'the payload is damaged; download it again',
      cause: error,
    });
  }
  const tables = Object.values((parsed.hypervisor ?? {}) as Record<string, Record<string, unknown>>);
  const table = tables[0];
  if (table === undefined) {
    throw new KataDeployError('bad-payload', `${source} has no [hypervisor.<name>] table`, {
      hint: 'this is not a Kata shim configuration; check the payload',
    });
  }
  return {
    memoryMiB: positive(table.default_memory, 'default_memory', source) ?? KATA_DEFAULT_MEMORY_MIB,
    vcpus: positive(table.default_vcpus, 'default_vcpus', source) ?? KATA_DEFAULT_VCPUS,
  };
}

/**
 * Guest size plus the hypervisor's host-side constant (src/core/pod-overhead.ts), as quantities. A `remote`
 * guest runs on another machine (peer pods), so only the host-side part is charged to this node.
 */
export function podFixedFor(guest: GuestSize, hypervisor: Hypervisor): PodFixed {
  const host = HOST_OVERHEAD[hypervisor];
  const local = hypervisor === 'remote' ? { memoryMiB: 0, vcpus: 0 } : guest;
  return {
    memory: `${Math.ceil(local.memoryMiB) + host.memoryMiB}Mi`,
    cpu: `${Math.ceil(local.vcpus * 1000) + host.cpuMillis}m`,
  };
}

/**
 * A custom runtime's guest size: its base config's, with `default_memory` / `default_vcpus` taken from its
 * own drop-in when that sets them (the drop-in wins, as in both runtimes' config.d merge).
 */
export function guestSizeWithOverrides(base: string, overrides: string | undefined, source: string): GuestSize {
  const size = guestSizeFromConfig(base, source);
  if (overrides === undefined) return size;
  const parsed = parseToml(overrides) as { hypervisor?: Record<string, Record<string, unknown>> };
  const table = Object.values(parsed.hypervisor ?? {})[0] ?? {};
  const where = `${source} config.d/50-overrides.toml`;
  return {
    memoryMiB: positive(table.default_memory, 'default_memory', where) ?? size.memoryMiB,
    vcpus: positive(table.default_vcpus, 'default_vcpus', where) ?? size.vcpus,
  };
}
