import { parse as parseToml } from 'smol-toml';

/**
 * Parsed documents by their text: a run reads each pristine Kata config in three places, and plans from the
 * runtime's config files and containerd's dumps many times over.
 */
const parsed = new Map<string, Readonly<Record<string, unknown>>>();

/** Past this many distinct texts the memo starts over: a long-lived process must not grow without bound. */
const MAX_ENTRIES = 64;

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

/**
 * Parses TOML once per distinct text: a run parses each shim's pristine config for its requirements, its
 * drop-ins and its pod annotations. smol-toml (TOML 1.0, as Kata's and containerd's Go parsers) reads the
 * 32 configs of a release in ~6 ms on a cold start, where @iarna/toml took ~17. The document is
 * deep-frozen, since every caller shares it. Throws what the parser throws (a failure is not remembered).
 */
export function parseTomlValues(text: string): Readonly<Record<string, unknown>> {
  const known = parsed.get(text);
  if (known !== undefined) return known;
  const document = deepFreeze(parseToml(text) as Record<string, unknown>);
  if (parsed.size >= MAX_ENTRIES) parsed.clear();
  parsed.set(text, document);
  return document;
}
