import type { Arch } from '../core/arch.js';
import { parseWords, settingsError } from './parse-values.js';
import { archValue, commaList } from './upstream-values.js';

type Env = Readonly<Record<string, string | undefined>>;

/** PodOverhead values an operator sets for one RuntimeClass; an undefined key keeps the derived value. */
export type OverheadOverride = Readonly<Record<'memory' | 'cpu', string | undefined>>;

/** `handler:memory=640Mi,cpu=500m …`: the keys given replace the derived PodOverhead, the others stay derived. */
export function parseOverheads(env: Env, arch: Arch): Map<string, OverheadOverride> {
  const found = archValue(env, 'RUNTIMECLASS_OVERHEAD', arch);
  const out = new Map<string, OverheadOverride>();
  const accepted = 'handler:memory=<quantity>,cpu=<quantity> entries, e.g. kata-qemu:memory=640Mi,cpu=500m';
  for (const word of parseWords(found?.value ?? '')) {
    const colon = word.indexOf(':');
    const handler = word.slice(0, colon);
    const values: Record<'memory' | 'cpu', string | undefined> = { memory: undefined, cpu: undefined };
    for (const pair of commaList(colon < 0 ? '' : word.slice(colon + 1))) {
      const [key, value = ''] = pair.split('=', 2);
      if ((key !== 'memory' && key !== 'cpu') || !/^\d+(\.\d+)?(m|Ki|Mi|Gi|k|M|G)?$/.test(value))
        throw settingsError(found!.source, `bad entry "${word}"`, accepted);
      values[key] = value;
    }
    if (colon <= 0 || (values.memory === undefined && values.cpu === undefined))
      throw settingsError(found!.source, `bad entry "${word}"`, accepted);
    out.set(handler, values);
  }
  return out;
}
