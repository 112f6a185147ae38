import { KataDeployError } from '../core/errors.js';
import type { PerShimValue } from './settings.js';

/** A settings error: exit 2, naming the variable or flag and what it accepts. */
export function settingsError(source: string, problem: string, accepted: string): KataDeployError {
  return new KataDeployError('usage', `${source}: ${problem}`, { hint: `accepted: ${accepted}` });
}

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off', '']);

/** Reads upstream-style booleans ("true"/"false") and the usual synonyms; anything else is an error. */
export function parseBoolean(source: string, raw: string | boolean): boolean {
  if (typeof raw === 'boolean') return raw;
  const value = raw.trim().toLowerCase();
  if (TRUE.has(value)) return true;
  if (FALSE.has(value)) return false;
  throw settingsError(source, `"${raw}" is not a boolean`, 'true or false');
}

/** Splits a whitespace-separated list, as upstream does for SHIMS and annotations. */
export function parseWords(raw: string): string[] {
  return raw.match(/\S+/g) ?? [];
}

/**
 * Reads a value that is either global (`http://proxy:3128`) or per shim (`qemu=http://a;fc=http://b`).
 * Every shim named must be one of the selected shims, so a typo cannot silently drop a proxy.
 */
export function parsePerShim(source: string, raw: string | undefined, shims: readonly string[]): PerShimValue {
  const perShim = new Map<string, string>();
  if (raw === undefined || raw.trim() === '') return { global: undefined, perShim };
  const value = raw.trim();
  if (!/^[a-z0-9-]+=/.test(value)) return { global: value, perShim };
  for (const entry of value
    .split(';')
    .map((part) => part.trim())
    .filter(Boolean)) {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw settingsError(source, `malformed entry "${entry}"`, `shim=value;… or one global value`);
    const shim = entry.slice(0, eq);
    if (!shims.includes(shim)) {
      throw settingsError(
        source,
        `entry "${entry}" names shim "${shim}", which is not selected`,
        `shim=value;… with shims from: ${shims.join(' ')}`,
      );
    }
    if (perShim.has(shim)) throw settingsError(source, `shim "${shim}" is given twice`, 'each shim once');
    perShim.set(shim, entry.slice(eq + 1));
  }
  return { global: undefined, perShim };
}

/** Reads `shim:snapshotter,shim:snapshotter` (upstream SNAPSHOTTER_HANDLER_MAPPING). */
export function parseSnapshotterMapping(
  source: string,
  raw: string | undefined,
  shims: readonly string[],
): Map<string, string> {
  const mapping = new Map<string, string>();
  if (raw === undefined) return mapping;
  const accepted = `shim:snapshotter[,shim:snapshotter…] with shims from: ${shims.join(' ')}`;
  for (const entry of raw
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)) {
    const match = /^([a-z0-9-]+):([A-Za-z0-9._-]+)$/.exec(entry);
    if (match === null) throw settingsError(source, `malformed entry "${entry}"`, accepted);
    const [, shim, snapshotter] = match as unknown as [string, string, string];
    if (!shims.includes(shim))
      throw settingsError(source, `entry "${entry}" names shim "${shim}", which is not selected`, accepted);
    if (mapping.has(shim)) throw settingsError(source, `shim "${shim}" is mapped twice`, accepted);
    mapping.set(shim, snapshotter);
  }
  return mapping;
}

/** Reads one of a fixed set of words, naming the set on error. */
export function parseChoice<T extends string>(source: string, raw: string, choices: readonly T[]): T {
  const value = raw.trim() as T;
  if (!choices.includes(value)) throw settingsError(source, `"${raw}" is not valid`, choices.join(' | '));
  return value;
}
