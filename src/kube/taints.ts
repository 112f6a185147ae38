import type { V1Taint } from '@kubernetes/client-node';

/** What to do to a node's taints: replace the list with `retained`, or nothing matched. */
export type TaintDecision =
  | { readonly kind: 'write'; readonly retained: readonly V1Taint[]; readonly removed: readonly string[] }
  | { readonly kind: 'unchanged' };

function describe(taint: V1Taint): string {
  return `${taint.key}${taint.value === undefined || taint.value === '' ? '' : `=${taint.value}`}:${taint.effect}`;
}

/**
 * Which STARTUP_TAINTS to lift: a bare `key` removes that key with any effect, `key:effect` only the
 * taint matching both. `spec.taints` is an atomic list, so the write replaces it whole; the writer's
 * resourceVersion precondition keeps a taint another controller added meanwhile from being dropped.
 */
export function decideTaints(taints: readonly V1Taint[], matchers: readonly string[]): TaintDecision {
  const matches = (taint: V1Taint): boolean =>
    matchers.some((matcher) => {
      const colon = matcher.indexOf(':');
      if (colon < 0) return taint.key === matcher;
      return taint.key === matcher.slice(0, colon) && taint.effect === matcher.slice(colon + 1);
    });
  const removed = taints.filter(matches);
  if (removed.length === 0) return { kind: 'unchanged' };
  return { kind: 'write', retained: taints.filter((taint) => !matches(taint)), removed: removed.map(describe) };
}
