import { DEBUG_LEVEL_PATH } from './debug-level.js';
import { KataDeployError } from '../../core/errors.js';
import type { FileChange } from '../../core/file-change.js';
import { FLAVOUR_LAYOUTS } from '../../core/flavours.js';
import { withExplicitDefaultImports } from './default-imports.js';
import { runtimePlatformsPath, runtimesPath } from './handler-tables.js';
import { planRuntimeConfig, type RuntimeConfigPlan } from './plan.js';
import { pruneEmpty } from './removal.js';
import type { RuntimeConfigRecord } from './record.js';
import { userDropInName, type RuntimeConfigRequest } from './request.js';
import { firstDifference, getPath, isTable, parseTomlText, withoutPath, type TomlTable } from './toml-document.js';
import { userDropInOverreach } from './user-drop-in-dump.js';
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
 * The effective runc handler in a `config dump` (1.x prints version 2, 2.x version 3), or undefined when
 * the runtime map has none. An install that must write a runc copies this table, so runc pods keep their
 * cgroup driver and options.
 */
export function dumpedRunc(dump: string): TomlTable | undefined {
  const value = parseTomlText('containerd config dump', dump);
  for (const version of [1, 2, 3] as const) {
    const runc = getPath(value, [...runtimesPath(version), 'runc']);
    if (isTable(runc)) return runc;
  }
  return undefined;
}

/** The request with runc as the pre-install dump has it, for the planner to copy where it must write one. */
export function withEffectiveRunc(
  request: RuntimeConfigRequest,
  currentDump: string | undefined,
): RuntimeConfigRequest {
  const effectiveRunc = currentDump === undefined ? undefined : dumpedRunc(currentDump);
  return effectiveRunc === undefined ? request : { ...request, effectiveRunc };
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
  if (request.userDropIn !== undefined)
    return assertUserDropInAccepted(validator, request, current, plan, currentDump, previous);
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
        ...(runcIsOurs(plan, currentDump, previous) ? ['runc'] : []),
      ]),
    ];
    const debugOurs = plan.record.debugLevel === true || previous?.debugLevel === true;
    // The operator's drop-in a previous install put there: its settings leave with it when this plan drops it.
    const tolerated = installedUserDropIn(request, current, previous);
    const currentValue = withoutOurs(parseTomlText('containerd config dump', currentDump), ours, debugOurs);
    const afterValue = withoutOurs(parseTomlText('containerd config dump', after.dump), ours, debugOurs);
    const difference =
      tolerated === undefined
        ? firstDifference(currentValue, afterValue)
        : userDropInOverreach(currentValue, afterValue, tolerated);
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
 * runc counts as ours (left out of the comparison) only where the runtime had none before, or where the
 * previous install added it: a runc we add in place of containerd's default must leave it exactly as it was.
 */
function runcIsOurs(plan: RuntimeConfigPlan, currentDump: string, previous: RuntimeConfigRecord | undefined): boolean {
  if (previous?.addedRunc === true) return true;
  return plan.record.addedRunc && dumpedRunc(currentDump) === undefined;
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

/**
 * With the operator's drop-in: first the plan without it must pass every check above (our change alone is
 * exactly our handlers), then containerd must accept the config with it, still load our handlers and runc,
 * and change nothing the drop-in does not name. Each refusal names the operator's file.
 */
async function assertUserDropInAccepted(
  validator: ConfigValidator,
  request: RuntimeConfigRequest,
  current: ReadonlyMap<string, Buffer | undefined>,
  plan: RuntimeConfigPlan,
  currentDump: string | undefined,
  previous: RuntimeConfigRecord | undefined,
): Promise<string | undefined> {
  const { userDropIn, ...withoutUser } = request;
  if (userDropIn === undefined) throw new Error('no user drop-in');
  const basePlan = planRuntimeConfig(withoutUser, current, previous);
  const baseDump = await assertChangedConfigAccepted(validator, withoutUser, current, basePlan, currentDump, previous);
  const main = validatedMainConfig(request);
  const after = await validator.validate(main, filesForValidation(request, applyChanges(current, plan.changes)));
  const refuse = (problem: string): KataDeployError =>
    new KataDeployError('config-refused', `CONTAINERD_USER_DROP_IN_SOURCE_FILE: ${userDropIn.source} ${problem}`, {
      hint: 'fix the drop-in (its ConfigMap) or unset the variable; nothing was changed',
    });
  if (!after.ok) throw refuse(`is refused by containerd: ${after.message}`);
  const listed = dumpedRuntimes(after.dump);
  const missing = [...request.handlers.map((handler) => handler.name), 'runc'].filter((name) => !listed.has(name));
  if (missing.length > 0) throw refuse(`makes containerd drop runtime handler(s) ${missing.join(', ')}`);
  if (baseDump === undefined) return after.dump;
  const overreach = userDropInOverreach(
    parseTomlText('containerd config dump', baseDump),
    parseTomlText('containerd config dump', after.dump),
    parseTomlText(userDropIn.source, userDropIn.bytes.toString('utf8')),
  );
  if (overreach !== undefined)
    throw refuse(`also changes ${overreach}, which it does not name, once containerd merges it`);
  return after.dump;
}

/**
 * The operator's drop-in an earlier install of ours put on the node, parsed: the current dump has its
 * settings, which a plan without it (the variable unset, or the first stage above) takes away, so those
 * differences are not ours to refuse. A plan that keeps it changes nothing there either.
 */
function installedUserDropIn(
  request: RuntimeConfigRequest,
  current: ReadonlyMap<string, Buffer | undefined>,
  previous: RuntimeConfigRecord | undefined,
): TomlTable | undefined {
  const name = userDropInName(request.suffix);
  const file = previous?.files.find((recorded) => recorded.ownedWhole && recorded.path.endsWith(`/${name}`));
  const bytes = file === undefined ? undefined : current.get(file.path);
  return bytes === undefined ? undefined : parseTomlText(file?.path ?? name, bytes.toString('utf8'));
}
