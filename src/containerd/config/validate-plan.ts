import { DEBUG_LEVEL_PATH } from './debug-level.js';
import { KataDeployError } from '../../core/errors.js';
import type { FileChange } from '../../core/file-change.js';
import { FLAVOUR_LAYOUTS } from '../../core/flavours.js';
import { withExplicitDefaultImports } from './default-imports.js';
import { runtimePlatformsPath, runtimesPath } from './handler-tables.js';
import type { RuntimeConfigPlan } from './plan.js';
import { pruneEmpty } from './removal.js';
import type { RuntimeConfigRecord } from './record.js';
import type { RuntimeConfigRequest } from './request.js';
import { firstDifference, getPath, isTable, parseTomlText, withoutPath, type TomlTable } from './toml-document.js';
import type { ConfigValidator } from './validator.js';

/** The file containerd is started with for a flavour (k0s: its generated main config, which imports ours). */
export function validatedMainConfig(request: RuntimeConfigRequest): string {
  return request.flavour.startsWith('k0s') ? FLAVOUR_LAYOUTS[request.flavour].configPath : request.configPath;
}

/** The candidate files: the current ones with the plan's changes applied. */
export function applyChanges(
  current: ReadonlyMap<string, Buffer | undefined>,
  changes: readonly FileChange[],
): Map<string, Buffer | undefined> {
  const result = new Map(current);
  for (const change of changes) result.set(change.path, change.after);
  return result;
}

/**
 * The files as the validator must see them: for vanilla containerd 2.2+, a main config without `imports`
 * gets containerd's implicit default imports written out, so they resolve inside the scratch copy.
 */
export function filesForValidation(
  request: RuntimeConfigRequest,
  files: ReadonlyMap<string, Buffer | undefined>,
): Map<string, Buffer | undefined> {
  const result = new Map(files);
  if (request.flavour !== 'containerd') return result;
  const main = files.get(request.configPath);
  const text = withExplicitDefaultImports(main?.toString('utf8') ?? '', request.daemonVersion);
  if (main === undefined ? text !== '' : text !== main.toString('utf8'))
    result.set(request.configPath, Buffer.from(text));
  return result;
}

/** Runtime handler names a `config dump` lists, whatever config version it prints. */
export function dumpedRuntimes(dump: string): Set<string> {
  const value = parseTomlText('containerd config dump', dump);
  const names = new Set<string>();
  for (const version of [1, 2, 3] as const) {
    const map = getPath(value, runtimesPath(version));
    if (isTable(map)) for (const name of Object.keys(map)) names.add(name);
  }
  return names;
}

/**
 * Asks containerd whether it accepts the config as it is now, before we plan anything: if not, the node
 * was already broken and restarting it with our change would be blamed on us. Refuses with exit 5,
 * quoting containerd. Returns the dump, which the changed config's dump is compared with. CRI-O has no
 * such oracle (its drop-in is checked by parsing only): undefined.
 */
export async function assertCurrentConfigAccepted(
  validator: ConfigValidator,
  request: RuntimeConfigRequest,
  current: ReadonlyMap<string, Buffer | undefined>,
): Promise<string | undefined> {
  if (request.flavour === 'crio') return undefined;
  const main = validatedMainConfig(request);
  const before = await validator.validate(main, filesForValidation(request, current));
  if (!before.ok) {
    throw new KataDeployError(
      'config-refused',
      `containerd refuses the current config ${main} (before any change): ${before.message}`,
      {
        hint: 'fix the config so `containerd config dump` accepts it, then run kata-deploy again; nothing was changed',
      },
    );
  }
  return before.dump;
}

/**
 * Asks containerd, before anything is written, whether it accepts the config with the plan's changes, and
 * compares what it would run with what it runs now: every handler we add (and runc, whose absence breaks
 * CRI) must be listed, and nothing else may differ. That last check catches what no parser can see: a
 * containerd 1.x import replacing a whole section, or a drop-in whose version stops the main file's
 * migration so the operator's settings silently fall back to defaults. Handlers of the `previous` install
 * that this plan drops count as ours too. Returns the changed config's dump.
 */
export async function assertChangedConfigAccepted(
  validator: ConfigValidator,
  request: RuntimeConfigRequest,
  current: ReadonlyMap<string, Buffer | undefined>,
  plan: RuntimeConfigPlan,
  currentDump: string | undefined,
  previous?: RuntimeConfigRecord,
): Promise<string | undefined> {
  if (request.flavour === 'crio') return undefined;
  const main = validatedMainConfig(request);
  const after = await validator.validate(main, filesForValidation(request, applyChanges(current, plan.changes)));
  if (!after.ok) {
    throw new KataDeployError(
      'config-refused',
      `containerd would refuse ${main} with the Kata handlers added: ${after.message}`,
      {
        hint:
          'nothing was changed; report this with the config file, it is a bug in kata-deploy or a containerd ' +
          'rule it does not know',
      },
    );
  }
  const listed = dumpedRuntimes(after.dump);
  const missing = [...request.handlers.map((handler) => handler.name), 'runc'].filter((name) => !listed.has(name));
  if (missing.length > 0) {
    throw new KataDeployError(
      'config-refused',
      `containerd accepts the changed config ${main} but does not load runtime handler(s) ${missing.join(', ')} from ` +
        `it`,
      {
        hint:
          'an import probably replaces the CRI plugin section (containerd 1.x), or the config version is ' +
          'ignored; nothing was changed',
      },
    );
  }
  if (currentDump !== undefined) {
    const ours = [
      ...new Set([
        ...plan.record.handlers,
        ...(previous?.handlers ?? []),
        ...(plan.record.addedRunc || previous?.addedRunc === true ? ['runc'] : []),
      ]),
    ];
    const debugOurs = plan.record.debugLevel === true || previous?.debugLevel === true;
    const difference = firstDifference(
      withoutOurs(parseTomlText('containerd config dump', currentDump), ours, debugOurs),
      withoutOurs(parseTomlText('containerd config dump', after.dump), ours, debugOurs),
    );
    if (difference !== undefined) {
      throw new KataDeployError(
        'config-refused',
        `with the Kata handlers added, containerd would also change ${difference} of ${main}`,
        {
          hint:
            'nothing was changed; containerd merges this config differently than kata-deploy expects (report it ' +
            'with the config files)',
        },
      );
    }
  }
  return after.dump;
}

/**
 * A dump without our handlers, their image-platform entries, `imports` and, when DEBUG raised it now or
 * before, containerd's debug level (the only things we change).
 */
function withoutOurs(dump: TomlTable, names: readonly string[], debugLevel: boolean): TomlTable {
  let result = withoutPath(dump, ['imports']);
  if (debugLevel) result = withoutPath(result, DEBUG_LEVEL_PATH);
  for (const name of names) {
    for (const version of [1, 2, 3] as const) result = withoutPath(result, [...runtimesPath(version), name]);
    const platforms = runtimePlatformsPath(3);
    if (platforms !== undefined) result = withoutPath(result, [...platforms, name]);
  }
  return pruneEmpty(result);
}

/** Both checks in order: the current config, then the changed one. Returns the changed config's dump. */
export async function validateRuntimeConfigPlan(
  validator: ConfigValidator,
  request: RuntimeConfigRequest,
  current: ReadonlyMap<string, Buffer | undefined>,
  plan: RuntimeConfigPlan,
): Promise<string | undefined> {
  const currentDump = await assertCurrentConfigAccepted(validator, request, current);
  return assertChangedConfigAccepted(validator, request, current, plan, currentDump);
}
