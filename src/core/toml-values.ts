import TOML from '@iarna/toml';

/** Parsed documents by their text: a run reads each pristine Kata config in three places. */
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
 * TOML.parse (@iarna/toml) once per distinct text: a run parses each shim's pristine config for its
 * requirements, its drop-ins and its pod annotations, and @iarna/toml took ~8 ms a config. The document is
 * deep-frozen, since every caller shares it. Throws what TOML.parse throws (a failure is not remembered).
 */
export function parseTomlValues(text: string): Readonly<Record<string, unknown>> {
  const known = parsed.get(text);
  if (known !== undefined) return known;
  const document = deepFreeze(TOML.parse(text) as Record<string, unknown>);
  if (parsed.size >= MAX_ENTRIES) parsed.clear();
  parsed.set(text, document);
  return document;
}
