import { parse as parseToml } from 'smol-toml';
import type { Arch } from '../core/arch.js';
import { SHIM_CATALOGUE } from '../core/shims.js';
import { settingsError } from './parse-values.js';
import type { PullType } from './upstream-settings.js';

/**
 * One extra runtime handler on a base shim's Kata config, from upstream's `custom-runtimes.list`: how the
 * seed's operators add RuntimeClasses with different values (and PodOverhead) for different workloads.
 */
export interface CustomRuntime {
  /** The containerd/CRI-O handler name, used as given (upstream's list carries the RuntimeClass's handler). */
  readonly handler: string;
  readonly baseShim: string;
  readonly snapshotter: string | undefined;
  readonly crioPullType: PullType | undefined;
  /** The operator's `dropin-<handler>.toml`, written as `config.d/50-overrides.toml`. */
  readonly dropIn: string | undefined;
}

/** Where the chart mounts its custom-configs ConfigMap, as upstream reads it. */
export const CUSTOM_CONFIGS_DIR = '/custom-configs';

const CHART_ARCHES: Readonly<Record<string, Arch>> = {
  amd64: 'x86_64',
  x86_64: 'x86_64',
  arm64: 'aarch64',
  aarch64: 'aarch64',
  s390x: 's390x',
  ppc64le: 'ppc64le',
};

/** Upstream's 5th field: comma arches in the chart's spelling (`amd64,arm64`); empty means every arch. */
export function supportsArch(field: string, arch: Arch, source: string): boolean {
  const names = field
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  if (names.length === 0) return true;
  for (const name of names) {
    if (CHART_ARCHES[name] === undefined)
      throw settingsError(source, `unknown arch "${name}"`, 'amd64, arm64, s390x, ppc64le (comma-separated)');
  }
  return names.some((name) => CHART_ARCHES[name] === arch);
}

/**
 * Parses `handler:baseConfig:containerd_snapshotter:crio_pulltype[:arches]` lines; runtimes for other arches
 * are left out. Refuses, naming the line, a handler that is not a valid name, is listed twice or clashes with
 * a shim's own handler, a base config this arch has no shim for, and an unknown pull type. `dropIns` gives
 * each handler's drop-in text, if the ConfigMap has one.
 */
export function parseCustomRuntimes(
  text: string,
  arch: Arch,
  reservedHandlers: readonly string[],
  dropIns: ReadonlyMap<string, string>,
): CustomRuntime[] {
  const runtimes: CustomRuntime[] = [];
  const lines = text.split('\n');
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const source = `${CUSTOM_CONFIGS_DIR}/custom-runtimes.list line ${index + 1}`;
    const [handler = '', base = '', snapshotter = '', pull = '', arches = ''] = line.split(':').map((f) => f.trim());
    if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(handler))
      throw settingsError(source, `"${handler}" is not a handler name`, 'an RFC 1123 label such as kata-my-runtime');
    if (!supportsArch(arches, arch, source)) continue;
    const shim = SHIM_CATALOGUE.get(base);
    if (shim === undefined || !shim.arches.includes(arch))
      throw settingsError(source, `base config "${base}" has no shim on ${arch}`, 'a shim name such as qemu');
    if (reservedHandlers.includes(handler) || runtimes.some((runtime) => runtime.handler === handler))
      throw settingsError(source, `handler "${handler}" is defined twice`, 'one line per handler, not a shim handler');
    if (pull !== '' && pull !== 'guest-pull') throw settingsError(source, `unknown pull type "${pull}"`, 'guest-pull');
    const dropIn = dropIns.get(handler);
    if (dropIn !== undefined) checkToml(`${CUSTOM_CONFIGS_DIR}/dropin-${handler}.toml`, dropIn);
    runtimes.push({
      handler,
      baseShim: base,
      snapshotter: snapshotter === '' ? undefined : snapshotter,
      crioPullType: pull === '' ? undefined : 'guest-pull',
      dropIn,
    });
  }
  return runtimes;
}

function checkToml(source: string, text: string): void {
  try {
    parseToml(text);
  } catch (error) {
    throw settingsError(source, `not valid TOML: ${(error as Error).message.split('\n')[0]}`, 'a Kata config drop-in');
  }
}
