import type { V1Overhead } from '@kubernetes/client-node';

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

/**
 * A Kubernetes quantity (`2208Mi`, `1.5Gi`, `1250m`, `2`, `1e3`) as a plain number of base units, or
 * undefined when it is not one. Enough to order two quantities; not a full resource.Quantity.
 */
export function quantityValue(quantity: string): number | undefined {
  const match = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$/.exec(quantity.trim());
  if (match === null) return undefined;
  const number = Number(match[1]);
  if (match[2] !== undefined) return number * 10 ** Number(match[2].slice(1));
  const suffix = match[3] ?? '';
  return number * (BINARY[suffix] ?? DECIMAL[suffix] ?? Number.NaN);
}

/**
 * The overhead a shared RuntimeClass should carry when nodes compute different ones: per resource the
 * larger of what the cluster has and what this node wants. Every node's pods then fit what the scheduler
 * reserves, and a smaller node finds nothing to write, so nodes of different sizes stop taking turns
 * rewriting the class: each writes at most once, and only to raise it. A value that does not parse is
 * replaced by ours (it cannot be compared, and ours is known good).
 */
export function largestOverhead(
  current: V1Overhead | undefined,
  desired: V1Overhead | undefined,
): V1Overhead | undefined {
  const have = current?.podFixed ?? {};
  const want = desired?.podFixed;
  if (want === undefined) return desired;
  const merged: Record<string, string> = {};
  for (const [resource, wanted] of Object.entries(want)) {
    const existing = have[resource];
    const a = existing === undefined ? undefined : quantityValue(existing);
    const b = quantityValue(wanted);
    merged[resource] = existing !== undefined && a !== undefined && b !== undefined && a >= b ? existing : wanted;
  }
  return { podFixed: merged };
}
