import { parseTomlValues } from '../../core/toml-values.js';

/** The prefix Kata reads hypervisor annotations under; `<prefix><name>` for each enabled name. */
export const HYPERVISOR_ANNOTATION_PREFIX = 'io.katacontainers.config.hypervisor.';

function enableAnnotations(text: string): { hypervisor: string; names: string[] | undefined } | undefined {
  let document: Record<string, unknown>;
  try {
    document = parseTomlValues(text);
  } catch {
    return undefined;
  }
  const tables = Object.entries((document.hypervisor ?? {}) as Record<string, Record<string, unknown>>);
  const [hypervisor, table] = tables[0] ?? [];
  if (hypervisor === undefined || table === undefined) return undefined;
  const list = table.enable_annotations;
  const names = Array.isArray(list) ? list.filter((item): item is string => typeof item === 'string') : undefined;
  return { hypervisor, names };
}

/**
 * The `pod_annotations` containerd should pass to one Kata handler: exactly the hypervisor annotations its
 * effective Kata config enables (the pristine `enable_annotations`, replaced by the last `config.d` file
 * that sets it, in name order, the way both runtimes merge drop-ins), then the operator's extras. No
 * `io.katacontainers.*` wildcard: it would let any pod hand Kata any annotation, and Kata itself rejects
 * the ones its config does not enable (upstream's open #13857).
 */
export function podAnnotationsFor(
  pristine: string,
  dropInsInNameOrder: readonly string[],
  extras: readonly string[],
): string[] {
  const base = enableAnnotations(pristine);
  let names = base?.names ?? [];
  for (const text of dropInsInNameOrder) {
    const dropIn = enableAnnotations(text);
    if (dropIn?.names !== undefined && dropIn.hypervisor === base?.hypervisor) names = dropIn.names;
  }
  return [...new Set([...names.map((name) => `${HYPERVISOR_ANNOTATION_PREFIX}${name}`), ...extras])];
}
