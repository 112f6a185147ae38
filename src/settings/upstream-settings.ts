import type { Arch } from '../core/arch.js';
import { NYDUS_FOR_KATA_TEE } from '../core/snapshotter-name.js';
import { parseBoolean, parseWords, settingsError } from './parse-values.js';
import { parseK8sDistribution, type K8sDistribution } from './k8s-distribution.js';
import { CUSTOM_CONFIGS_DIR, parseCustomRuntimes, type CustomRuntime } from './custom-runtimes.js';
import { parseOverheads, type OverheadOverride } from './overhead-overrides.js';
import { archValue, commaList, upstreamValue } from './upstream-values.js';
import type { LogLevel } from './settings.js';
import { parseUserDropIn, type ContainerFileReader, type UserDropInSource } from './user-drop-in.js';

/** The chart's custom-configs ConfigMap as files: the list and each `dropin-<handler>.toml`; undefined if absent. */
export type CustomConfigsReader = () => { list: string; dropIns: ReadonlyMap<string, string> } | undefined;

/** CRI-O's only pull type besides the node's own: the guest pulls the image (upstream PULL_TYPE_MAPPING). */
export type PullType = 'guest-pull';

/**
 * The upstream kata-deploy 4.2 variables that have no flag of ours, validated once. Kept apart from the
 * older settings so the table of what we do with each upstream variable (upstream-variables.ts) reads
 * against one parser.
 */
export interface UpstreamSettings {
  readonly pullTypeMapping: ReadonlyMap<string, PullType>;
  /** Shims whose Kata config gets `runtime.experimental_force_guest_pull = true`. */
  readonly forceGuestPull: readonly string[];
  /** Shims whose guest kernel gets `nvrc.dcgm=on` (NVRC_ENABLE_DCGM). */
  readonly nvrcEnableDcgm: readonly string[];
  /** Bare file name of vanilla containerd's main config (CONTAINERD_CONFIG_FILE_NAME). */
  readonly containerdConfigFileName: string | undefined;
  /** Host directory holding the runtime's containerd config (CONTAINERD_CONFIG_DIR). */
  readonly containerdConfigDir: string | undefined;
  readonly extraPodAnnotations: readonly string[];
  readonly shimExtraPodAnnotations: ReadonlyMap<string, readonly string[]>;
  readonly k8sDistribution: K8sDistribution | undefined;
  readonly nodeMachineId: string | undefined;
  readonly containerRuntimeVersion: string | undefined;
  readonly helmPostDeleteHook: boolean;
  /** The log level RUST_LOG asks for, used when LOG_LEVEL and --log-level are unset. */
  readonly rustLogLevel: LogLevel | undefined;
  /** CUSTOM_RUNTIMES_ENABLED: extra handlers from the chart's custom-runtimes.list, for this arch. */
  readonly customRuntimes: readonly CustomRuntime[];
  /** RUNTIMECLASS_OVERHEAD_<ARCH>: PodOverhead values replacing the derived ones, per RuntimeClass handler. */
  readonly runtimeClassOverhead: ReadonlyMap<string, OverheadOverride>;
  /**
   * DEVKIT with DEBUG (upstream ignores it without): a `kata-<shim>[-sfx]-devkit` debug variant per shim, its
   * config adding the payload's devkit extension image and the agent debug console.
   */
  readonly devkit: boolean;
  /** CONTAINERD_USER_DROP_IN_SOURCE_FILE: copied verbatim to `zz-kata-deploy-user[-<suffix>].toml`. */
  readonly containerdUserDropIn: UserDropInSource | undefined;
  /** Things an operator should know (an upstream variable with no effect here), logged once at start. */
  readonly notices: readonly string[];
}

type Env = Readonly<Record<string, string | undefined>>;

function selectedShims(source: string, names: readonly string[], shims: readonly string[]): string[] {
  for (const name of names) {
    if (!shims.includes(name))
      throw settingsError(source, `names shim "${name}", which is not selected`, `shims from: ${shims.join(' ')}`);
  }
  return [...new Set(names)];
}

function parsePullTypes(env: Env, arch: Arch, shims: readonly string[]): Map<string, PullType> {
  const found = archValue(env, 'PULL_TYPE_MAPPING', arch);
  const mapping = new Map<string, PullType>();
  for (const entry of commaList(found?.value)) {
    const [shim = '', type = '', ...rest] = entry.split(':').map((part) => part.trim());
    const accepted = `shim:guest-pull[,shim:guest-pull…] with shims from: ${shims.join(' ')}`;
    if (rest.length > 0 || type !== 'guest-pull') throw settingsError(found!.source, `bad entry "${entry}"`, accepted);
    selectedShims(found!.source, [shim], shims);
    mapping.set(shim, type);
  }
  return mapping;
}

function parseShimAnnotations(env: Env, arch: Arch, shims: readonly string[]): Map<string, string[]> {
  const found = archValue(env, 'CONTAINERD_SHIM_EXTRA_POD_ANNOTATIONS', arch);
  const perShim = new Map<string, string[]>();
  for (const word of parseWords(found?.value ?? '')) {
    const colon = word.indexOf(':');
    if (colon <= 0)
      throw settingsError(found!.source, `entry "${word}" names no shim`, 'shim:annotation[,annotation…] entries');
    const shim = word.slice(0, colon);
    selectedShims(found!.source, [shim], shims);
    perShim.set(shim, [...(perShim.get(shim) ?? []), ...commaList(word.slice(colon + 1))]);
  }
  return perShim;
}

function parseConfigFileName(env: Env): string | undefined {
  const name = upstreamValue(env, 'CONTAINERD_CONFIG_FILE_NAME');
  if (name === undefined) return undefined;
  if (name.includes('/') || name === '.' || name === '..')
    throw settingsError('CONTAINERD_CONFIG_FILE_NAME', `"${name}" is not a simple file name`, 'e.g. config.toml');
  return name;
}

function parseConfigDir(env: Env): string | undefined {
  const dir = upstreamValue(env, 'CONTAINERD_CONFIG_DIR');
  if (dir === undefined) return undefined;
  if (!dir.startsWith('/') || dir.split('/').includes('..'))
    throw settingsError('CONTAINERD_CONFIG_DIR', `"${dir}" is not an absolute path`, 'e.g. /etc/my-containerd');
  return dir.length > 1 ? dir.replace(/\/+$/, '') : dir;
}

const RUST_LEVELS: Readonly<Record<string, LogLevel>> = {
  off: 'silent',
  error: 'error',
  warn: 'warn',
  info: 'info',
  debug: 'debug',
  trace: 'trace',
};

/** env_logger's filter: a bare level applies to everything; `kata_deploy=<level>` to upstream's own crate. */
export function rustLogLevel(raw: string | undefined): LogLevel | undefined {
  let ours: LogLevel | undefined;
  for (const directive of commaList(raw?.toLowerCase())) {
    const [target, level] = directive.includes('=') ? directive.split('=', 2) : [undefined, directive];
    const mapped = RUST_LEVELS[level ?? ''];
    if (mapped === undefined) continue;
    if (target === undefined) return mapped;
    if (target.startsWith('kata_deploy')) ours = mapped;
  }
  return ours;
}

function parseMachineId(env: Env): string | undefined {
  const id = upstreamValue(env, 'NODE_MACHINE_ID')?.toLowerCase();
  if (id !== undefined && !/^[0-9a-f]{32}$/.test(id))
    throw settingsError(
      'NODE_MACHINE_ID',
      `"${id}" is not a machine ID`,
      '32 hexadecimal characters (/etc/machine-id)',
    );
  return id;
}

function parseDcgm(env: Env, shims: readonly string[]): string[] {
  const chosen = selectedShims('NVRC_ENABLE_DCGM', commaList(upstreamValue(env, 'NVRC_ENABLE_DCGM')), shims);
  const notGpu = chosen.find((shim) => !shim.includes('nvidia-gpu'));
  if (notGpu !== undefined)
    throw settingsError('NVRC_ENABLE_DCGM', `shim "${notGpu}" has no NVIDIA GPU`, 'qemu-nvidia-gpu* shims only');
  return chosen;
}

/** Reads the upstream-only variables for the selected shims; refusals name the variable (exit 2). */
export function parseUpstreamSettings(
  env: Env,
  arch: Arch,
  shims: readonly string[],
  debug: boolean,
  readCustomConfigs: CustomConfigsReader = () => undefined,
  readContainerFile: ContainerFileReader = () => undefined,
): UpstreamSettings {
  const notices: string[] = [];
  const customRuntimes = readCustomRuntimes(env, arch, shims, readCustomConfigs, notices);
  const forceFound = archValue(env, 'EXPERIMENTAL_FORCE_GUEST_PULL', arch);
  const pullTypeMapping = parsePullTypes(env, arch, shims);
  if (pullTypeMapping.size > 0)
    notices.push(
      `${[...pullTypeMapping.keys()].join(', ')}: guest pull on CRI-O only; large images may need a longer ` +
        'kubelet --runtime-request-timeout',
    );
  const rustLog = upstreamValue(env, 'RUST_LOG');
  const rustLevel = rustLogLevel(rustLog);
  if (rustLog !== undefined && rustLevel === undefined)
    notices.push(`RUST_LOG="${rustLog}" names no level for kata-deploy; LOG_LEVEL decides`);
  return {
    pullTypeMapping,
    forceGuestPull:
      forceFound === undefined ? [] : selectedShims(forceFound.source, commaList(forceFound.value), shims),
    nvrcEnableDcgm: parseDcgm(env, shims),
    containerdConfigFileName: parseConfigFileName(env),
    containerdConfigDir: parseConfigDir(env),
    extraPodAnnotations: commaList(upstreamValue(env, 'CONTAINERD_EXTRA_POD_ANNOTATIONS')),
    shimExtraPodAnnotations: parseShimAnnotations(env, arch, shims),
    k8sDistribution: parseK8sDistribution(upstreamValue(env, 'K8S_DISTRIBUTION')),
    nodeMachineId: parseMachineId(env),
    containerRuntimeVersion: upstreamValue(env, 'CONTAINER_RUNTIME_VERSION'),
    helmPostDeleteHook: parseBoolean('HELM_POST_DELETE_HOOK', upstreamValue(env, 'HELM_POST_DELETE_HOOK') ?? ''),
    rustLogLevel: rustLevel,
    customRuntimes,
    runtimeClassOverhead: parseOverheads(env, arch),
    containerdUserDropIn: parseUserDropIn(env, readContainerFile),
    devkit: debug && parseBoolean('DEVKIT', upstreamValue(env, 'DEVKIT') ?? ''),
    notices: Object.freeze([...notices, ...refuseUnsupported(env, arch, debug)]),
  };
}

/**
 * The upstream features this installer does not implement: refused (exit 2) where going on would leave
 * the operator's intent unmet on the node, noticed where upstream itself would do nothing here.
 */
function refuseUnsupported(env: Env, arch: Arch, debug: boolean): string[] {
  const notices: string[] = [];
  const refuse = (source: string, problem: string, fix: string): never => {
    throw settingsError(source, problem, fix);
  };
  const setup = commaList(upstreamValue(env, 'EXPERIMENTAL_SETUP_SNAPSHOTTER'));
  if (setup.includes('erofs'))
    refuse('EXPERIMENTAL_SETUP_SNAPSHOTTER', 'setting up the erofs snapshotter is not supported', 'nydus or unset');
  const mapping = archValue(env, 'SNAPSHOTTER_HANDLER_MAPPING', arch)?.value ?? '';
  const mapsNydus = /:\s*nydus\s*(,|$)/.test(mapping);
  const proxy = `containerd's proxy plugin ${NYDUS_FOR_KATA_TEE}[-<MULTI_INSTALL_SUFFIX>]`;
  if (setup.includes('nydus'))
    notices.push(
      mapsNydus
        ? 'EXPERIMENTAL_SETUP_SNAPSHOTTER=nydus: nydus-snapshotter is not installed by this kata-deploy; ' +
            `the handlers mapped to nydus use ${proxy}, which must already be registered on the node`
        : 'EXPERIMENTAL_SETUP_SNAPSHOTTER=nydus: no selected handler uses nydus, nothing to set up',
    );
  else if (mapsNydus)
    notices.push(
      `SNAPSHOTTER_HANDLER_MAPPING: handlers mapped to nydus use ${proxy} (as upstream); register a ` +
        'nydus-snapshotter under that name, or their pods cannot pull images',
    );
  for (const name of ['EROFS_MERGE_MODE', 'EROFS_SNAPSHOTTER_MODE', 'EROFS_DMVERITY']) {
    const value = upstreamValue(env, name);
    if (value !== undefined) notices.push(`${name}=${value} has no effect: the erofs snapshotter is not set up here`);
  }
  const rootless = archValue(env, 'ROOTLESS', arch);
  if (rootless !== undefined)
    refuse(rootless.source, 'rootless runtimes (upstream job mode) are not supported', 'unset it');
  if (parseBoolean('DEVKIT', upstreamValue(env, 'DEVKIT') ?? '') && !debug)
    notices.push('DEVKIT=true ignored: it requires DEBUG=true to take effect');
  return notices;
}

function readCustomRuntimes(
  env: Env,
  arch: Arch,
  shims: readonly string[],
  read: CustomConfigsReader,
  notices: string[],
): CustomRuntime[] {
  if (!parseBoolean('CUSTOM_RUNTIMES_ENABLED', upstreamValue(env, 'CUSTOM_RUNTIMES_ENABLED') ?? '')) return [];
  const files = read();
  if (files === undefined) {
    notices.push(`CUSTOM_RUNTIMES_ENABLED=true but ${CUSTOM_CONFIGS_DIR}/custom-runtimes.list is absent: none added`);
    return [];
  }
  const shimHandlers = shims.flatMap((shim) => [`kata-${shim}`, `kata-${shim}-debug`, `kata-${shim}-devkit`]);
  return parseCustomRuntimes(files.list, arch, shimHandlers, files.dropIns);
}
