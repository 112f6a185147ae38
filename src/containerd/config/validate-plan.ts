import { KataDeployError } from '../../core/errors.js';
import type { FileChange } from '../../core/file-change.js';
import { FLAVOUR_LAYOUTS } from '../../core/flavours.js';
import { runtimesPath } from './handler-tables.js';
import type { RuntimeConfigRequest } from './request.js';
import { getPath, isTable, parseTomlText } from './toml-document.js';
import type { ConfigValidator } from './validator.js';

/** The file containerd is started with for a flavour (k0s: its generated main config, which imports ours). */
export function validatedMainConfig(request: RuntimeConfigRequest): string {
  return request.flavour.startsWith('k0s') ? FLAVOUR_LAYOUTS[request.flavour].configPath : request.configPath;
}

/** The candidate files: the current ones with the plan's changes applied. */
export function applyChanges(current: ReadonlyMap<string, Buffer | undefined>, changes: readonly FileChange[]): Map<string, Buffer | undefined> {
  const result = new Map(current);
  for (const change of changes) result.set(change.path, change.after);
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
 * quoting containerd. CRI-O has no such oracle (its drop-in is checked by parsing only).
 */
export async function assertCurrentConfigAccepted(validator: ConfigValidator, request: RuntimeConfigRequest, current: ReadonlyMap<string, Buffer | undefined>): Promise<void> {
  if (request.flavour === 'crio') return;
  const main = validatedMainConfig(request);
  const before = await validator.validate(main, current);
  if (!before.ok) {
    throw new KataDeployError('config-refused', `containerd refuses the current config ${main} (before any change): ${before.message}`, {
      hint: 'fix the config so `containerd config dump` accepts it, then run kata-deploy again; nothing was changed',
    });
  }
}

/**
 * Asks containerd, before anything is written, whether it accepts the config with the plan's changes and
 * whether its dump lists every handler we add plus runc (whose absence breaks CRI): a containerd 1.x import
 * can silently replace the section holding our handlers. Returns the dump (undefined for CRI-O).
 */
export async function assertChangedConfigAccepted(validator: ConfigValidator, request: RuntimeConfigRequest, current: ReadonlyMap<string, Buffer | undefined>, changes: readonly FileChange[]): Promise<string | undefined> {
  if (request.flavour === 'crio') return undefined;
  const main = validatedMainConfig(request);
  const after = await validator.validate(main, applyChanges(current, changes));
  if (!after.ok) {
    throw new KataDeployError('config-refused', `containerd would refuse ${main} with the Kata handlers added: ${after.message}`, {
      hint: 'nothing was changed; report this with the config file, it is a bug in kata-deploy or a containerd rule it does not know',
    });
  }
  const listed = dumpedRuntimes(after.dump);
  const missing = [...request.handlers.map((handler) => handler.name), 'runc'].filter((name) => !listed.has(name));
  if (missing.length > 0) {
    throw new KataDeployError('config-refused', `containerd accepts the changed config ${main} but does not load runtime handler(s) ${missing.join(', ')} from it`, {
      hint: 'an import probably replaces the CRI plugin section (containerd 1.x), or the config version is ignored; nothing was changed',
    });
  }
  return after.dump;
}

/** Both checks in order: the current config, then the changed one. Returns the changed config's dump. */
export async function validateRuntimeConfigPlan(validator: ConfigValidator, request: RuntimeConfigRequest, current: ReadonlyMap<string, Buffer | undefined>, changes: readonly FileChange[]): Promise<string | undefined> {
  await assertCurrentConfigAccepted(validator, request, current);
  return assertChangedConfigAccepted(validator, request, current, changes);
}
