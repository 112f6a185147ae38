import { type Arch, archEnvSuffix } from '../core/arch.js';
import { DEFAULT_SHIM, DEFAULT_SHIMS, SHIM_CATALOGUE } from '../core/shims.js';
import { suffixCollision } from '../core/install-suffix.js';
import type { LogFormat, LogLevel, RestartMode, RuntimeFlavour, Settings } from './settings.js';
import { RUNTIME_FLAVOURS } from './settings.js';
import { FAILPOINTS } from '../core/failpoints.js';
import { OPTION_SPECS, type OptionKey, type RawFlags } from './options.js';
import {
  parseBoolean,
  parseChoice,
  parsePerShim,
  parseSnapshotterMapping,
  parseWords,
  settingsError,
} from './parse-values.js';
import { parseUpstreamSettings, type CustomConfigsReader } from './upstream-settings.js';
import { checkNoProxyList, checkPayloadLocation, checkPerShim, checkProxyUrl, checkRawValue } from './value-checks.js';

/** Where the compiled image keeps its payload; documented in the README. */
export const DEFAULT_PAYLOAD = '/opt/kata-artifacts/kata-static.tar.zst';

const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
const SUFFIX = /^[a-z0-9]([a-z0-9-]{0,18}[a-z0-9])?$/;

export interface SettingsInput {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly flags: RawFlags;
  readonly arch: Arch;
  /** Reads the chart's custom-configs mount (CUSTOM_RUNTIMES_ENABLED); absent in tests that do not need it. */
  readonly readCustomConfigs?: CustomConfigsReader;
}

interface Lookup {
  readonly value: string | boolean;
  readonly source: string;
}

function lookup(input: SettingsInput, key: OptionKey): Lookup | undefined {
  const spec = OPTION_SPECS.find((candidate) => candidate.key === key);
  if (spec === undefined) throw new Error(`no option spec for ${key}`);
  const flag = input.flags[key];
  if (flag !== undefined) return checked(key, { value: flag, source: spec.flag.split(' ')[0] ?? key });
  for (const template of spec.env) {
    const name = template.replace('{ARCH}', archEnvSuffix(input.arch));
    const value = input.env[name];
    if (value !== undefined && value.trim() !== '') return checked(key, { value, source: name });
  }
  return undefined;
}

function checked(key: OptionKey, found: Lookup): Lookup {
  if (typeof found.value === 'string') checkRawValue(key, found.source, found.value);
  return found;
}

function text(found: Lookup | undefined): string | undefined {
  return found === undefined ? undefined : String(found.value).trim();
}

function flagOrEnvBoolean(input: SettingsInput, key: OptionKey, fallback: boolean): boolean {
  const found = lookup(input, key);
  return found === undefined ? fallback : parseBoolean(found.source, found.value);
}

function parseShims(input: SettingsInput): { shims: string[]; defaultShim: string } {
  const found = lookup(input, 'shims');
  const shims = found === undefined ? [...DEFAULT_SHIMS[input.arch]] : parseWords(String(found.value));
  const source = found?.source ?? `SHIMS_${archEnvSuffix(input.arch)}`;
  if (shims.length === 0) throw settingsError(source, 'no shims selected', 'a space-separated list of shims');
  const forArch = [...SHIM_CATALOGUE.values()]
    .filter((info) => info.arches.includes(input.arch))
    .map((info) => info.name);
  for (const shim of shims) {
    if (!SHIM_CATALOGUE.has(shim)) throw settingsError(source, `unknown shim "${shim}"`, forArch.join(' '));
    if (!forArch.includes(shim))
      throw settingsError(source, `shim "${shim}" does not exist for ${input.arch}`, forArch.join(' '));
  }
  const duplicate = shims.find((shim, index) => shims.indexOf(shim) !== index);
  if (duplicate !== undefined) throw settingsError(source, `shim "${duplicate}" is listed twice`, 'each shim once');
  const defaultFound = lookup(input, 'defaultShim');
  const fallback = shims.includes(DEFAULT_SHIM[input.arch]) ? DEFAULT_SHIM[input.arch] : shims[0]!;
  const defaultShim = text(defaultFound) ?? fallback;
  if (!shims.includes(defaultShim)) {
    throw settingsError(
      defaultFound?.source ?? 'DEFAULT_SHIM',
      `default shim "${defaultShim}" is not among the selected shims`,
      shims.join(' '),
    );
  }
  return { shims, defaultShim };
}

function parseAbsolute(input: SettingsInput, key: OptionKey, fallback: string): string;
function parseAbsolute(input: SettingsInput, key: OptionKey, fallback: undefined): string | undefined;
function parseAbsolute(input: SettingsInput, key: OptionKey, fallback: string | undefined): string | undefined {
  const found = lookup(input, key);
  const value = text(found);
  if (value === undefined) return fallback;
  if (!value.startsWith('/'))
    throw settingsError(found!.source, `"${value}" is not an absolute path`, 'a path starting with "/"');
  if (value.split('/').includes('..'))
    throw settingsError(found!.source, `"${value}" contains ".."`, 'a path without ".." segments');
  return value.length > 1 ? value.replace(/\/+$/, '') : value;
}

function parseAnnotations(input: SettingsInput, shims: readonly string[]): Settings['allowedHypervisorAnnotations'] {
  const found = lookup(input, 'allowedHypervisorAnnotations');
  const perShim = new Map<string, string>();
  const globalList: string[] = [];
  for (const word of found === undefined ? [] : parseWords(String(found.value))) {
    const colon = word.indexOf(':');
    if (colon < 0) {
      globalList.push(word);
      continue;
    }
    const shim = word.slice(0, colon);
    if (!shims.includes(shim))
      throw settingsError(
        found!.source,
        `entry "${word}" names shim "${shim}", which is not selected`,
        `annotation or shim:annotation with shims from: ${shims.join(' ')}`,
      );
    const names = word
      .slice(colon + 1)
      .split(',')
      .join(' ');
    perShim.set(shim, [perShim.get(shim), names].filter(Boolean).join(' '));
  }
  return { global: globalList.length > 0 ? globalList.join(' ') : undefined, globalList, perShim };
}

function parseSuffix(input: SettingsInput): string | undefined {
  const found = lookup(input, 'multiInstallSuffix');
  const value = text(found);
  if (value === undefined) return undefined;
  if (!SUFFIX.test(value)) {
    throw settingsError(
      found!.source,
      `"${value}" cannot be used in handler names, paths and label keys`,
      'lower-case letters, digits and inner dashes, 1 to 20 characters',
    );
  }
  const collision = suffixCollision(value);
  if (collision !== undefined)
    throw settingsError(found!.source, `"${value}" is reserved: ${collision}`, 'any other suffix, e.g. "blue"');
  return value;
}

function parseTimeout(input: SettingsInput): number {
  const found = lookup(input, 'readinessTimeout');
  if (found === undefined) return 60_000;
  const seconds = Number(found.value);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 3600)
    throw settingsError(found.source, `"${found.value}" is not a timeout`, 'seconds, more than 0 and at most 3600');
  return Math.round(seconds * 1000);
}

function parseBudget(input: SettingsInput): number | undefined {
  const found = lookup(input, 'restartBudget');
  if (found === undefined) return undefined;
  const budget = Number(found.value);
  if (!Number.isInteger(budget) || budget < 0 || budget > 1000)
    throw settingsError(
      found.source,
      `"${found.value}" is not a restart budget`,
      'an integer from 0 (unlimited) to 1000',
    );
  return budget;
}

function parseSha256(input: SettingsInput): string | undefined {
  const found = lookup(input, 'payloadSha256');
  const value = text(found)?.toLowerCase();
  if (value !== undefined && !/^[0-9a-f]{64}$/.test(value))
    throw settingsError(found!.source, `"${found!.value}" is not a sha256 digest`, '64 hexadecimal characters');
  return value;
}

function parsePort(input: SettingsInput): number {
  const found = lookup(input, 'healthPort');
  if (found === undefined) return 8090;
  const port = Number(found.value);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw settingsError(found.source, `"${found.value}" is not a port`, 'an integer from 1 to 65535');
  return port;
}

function parseName(input: SettingsInput, key: OptionKey, fallback: string): string;
function parseName(input: SettingsInput, key: OptionKey, fallback: undefined): string | undefined;
function parseName(input: SettingsInput, key: OptionKey, fallback: string | undefined): string | undefined {
  const found = lookup(input, key);
  const value = text(found);
  if (value === undefined) return fallback;
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(value))
    throw settingsError(
      found!.source,
      `"${value}" is not a Kubernetes name`,
      'lower-case letters, digits and inner dashes (RFC 1123 label)',
    );
  return value;
}

function checkedText(
  input: SettingsInput,
  key: OptionKey,
  check: (source: string, value: string) => string,
): string | undefined {
  const found = lookup(input, key);
  const value = text(found);
  return value === undefined ? undefined : check(found!.source, value);
}

function choice<T extends string>(input: SettingsInput, key: OptionKey, choices: readonly T[]): T | undefined {
  const found = lookup(input, key);
  return found === undefined ? undefined : parseChoice(found.source, String(found.value), choices);
}

/**
 * Validates flags and environment into one frozen Settings. Flags win over per-arch variables, which
 * win over the generic ones (`SHIMS_X86_64` over `SHIMS`), which win over upstream's defaults.
 */
export function parseSettings(input: SettingsInput): Settings {
  const { shims, defaultShim } = parseShims(input);
  const installationPrefix = parseAbsolute(input, 'installationPrefix', undefined);
  const multiInstallSuffix = parseSuffix(input);
  const runtimeRaw = choice<RuntimeFlavour | 'auto'>(input, 'runtime', ['auto', ...RUNTIME_FLAVOURS]);
  const debug = flagOrEnvBoolean(input, 'debug', false);
  const upstream = parseUpstreamSettings(input.env, input.arch, shims, debug, input.readCustomConfigs);
  const settings: Settings = {
    arch: input.arch,
    nodeName: text(lookup(input, 'nodeName')),
    shims: Object.freeze(shims),
    defaultShim,
    debug,
    installationPrefix: installationPrefix === '/' ? undefined : installationPrefix,
    multiInstallSuffix,
    installDir: installDirFor(installationPrefix, multiInstallSuffix),
    allowedHypervisorAnnotations: parseAnnotations(input, shims),
    agentHttpsProxy: checkPerShim(
      parsePerShim('AGENT_HTTPS_PROXY', text(lookup(input, 'agentHttpsProxy')), shims),
      'AGENT_HTTPS_PROXY',
      checkProxyUrl,
    ),
    agentNoProxy: checkPerShim(
      parsePerShim('AGENT_NO_PROXY', text(lookup(input, 'agentNoProxy')), shims),
      'AGENT_NO_PROXY',
      checkNoProxyList,
    ),
    snapshotterHandlerMapping: parseSnapshotterMapping(
      lookup(input, 'snapshotterHandlerMapping')?.source ?? 'SNAPSHOTTER_HANDLER_MAPPING',
      text(lookup(input, 'snapshotterHandlerMapping')),
      shims,
    ),
    createRuntimeClasses: flagOrEnvBoolean(input, 'createRuntimeClasses', false),
    createDefaultRuntimeClass: flagOrEnvBoolean(input, 'createDefaultRuntimeClass', false),
    startupTaints: Object.freeze(parseWords((text(lookup(input, 'startupTaints')) ?? '').replaceAll(',', ' '))),
    hostRoot: parseAbsolute(input, 'hostRoot', '/'),
    payload: checkedText(input, 'payload', checkPayloadLocation) ?? DEFAULT_PAYLOAD,
    payloadSha256: parseSha256(input),
    allowUnverifiedPayload: flagOrEnvBoolean(input, 'allowUnverifiedPayload', false),
    runtime: runtimeRaw === 'auto' ? undefined : runtimeRaw,
    containerdConfig: parseAbsolute(input, 'containerdConfig', undefined),
    containerdBinary: parseAbsolute(input, 'containerdBinary', undefined),
    containerdSocket: parseAbsolute(input, 'containerdSocket', '/run/containerd/containerd.sock'),
    systemdSocket: parseAbsolute(input, 'systemdSocket', '/run/systemd/private'),
    unit: text(lookup(input, 'unit')),
    restart: choice<RestartMode>(input, 'restart', ['auto', 'systemd', 'none']) ?? 'auto',
    readinessTimeoutMs: parseTimeout(input),
    restartBudget: parseBudget(input),
    kubeconfig: text(lookup(input, 'kubeconfig')),
    json: flagOrEnvBoolean(input, 'json', false),
    logLevel: choice<LogLevel>(input, 'logLevel', LOG_LEVELS) ?? upstream.rustLogLevel ?? (debug ? 'debug' : 'info'),
    logFormat: choice<LogFormat>(input, 'logFormat', ['json', 'pretty']),
    dryRun: flagOrEnvBoolean(input, 'dryRun', false),
    healthPort: parsePort(input),
    daemonSetName: parseName(input, 'daemonSetName', 'kata-deploy'),
    podNamespace: parseName(input, 'podNamespace', undefined),
    requireKvm: flagOrEnvBoolean(input, 'requireKvm', true),
    requireKvmProof: flagOrEnvBoolean(input, 'requireKvmProof', false),
    httpsProxy: checkedText(input, 'httpsProxy', checkProxyUrl),
    noProxy: checkedText(input, 'noProxy', checkNoProxyList),
    payloadCa: parseAbsolute(input, 'payloadCa', undefined),
    testFailpoint: choice(input, 'testFailpoint', FAILPOINTS),
    upstream,
  };
  return Object.freeze(settings);
}

/** `<prefix>/opt/kata[-<suffix>]`: where upstream puts the payload for these two settings. */
function installDirFor(installationPrefix: string | undefined, multiInstallSuffix: string | undefined): string {
  const prefix = installationPrefix === '/' ? '' : (installationPrefix ?? '');
  const suffix = multiInstallSuffix === undefined ? '' : `-${multiInstallSuffix}`;
  return `${prefix}/opt/kata${suffix}`;
}
