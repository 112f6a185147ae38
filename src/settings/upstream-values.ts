import { type Arch, archEnvSuffix } from '../core/arch.js';

type Env = Readonly<Record<string, string | undefined>>;

/** An upstream variable's value, trimmed; an empty one counts as unset, as upstream treats it. */
export function upstreamValue(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/** The arch-suffixed variable first (the only one upstream reads), then our plain extension. */
export function archValue(env: Env, base: string, arch: Arch): { value: string; source: string } | undefined {
  for (const name of [`${base}_${archEnvSuffix(arch)}`, base]) {
    const value = upstreamValue(env, name);
    if (value !== undefined) return { value, source: name };
  }
  return undefined;
}

/** A comma-separated list, trimmed, empty entries dropped (upstream's mapping variables). */
export function commaList(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
}
