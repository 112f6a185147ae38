import type { SemVer } from '../../core/containerd-version.js';
import { resolveImport } from './imports.js';
import { rootImports } from './in-place-edit.js';
import type { TomlDocument } from './toml-document.js';

/**
 * The drop-in directory containerd 2.2+ imports by default (containerd#12323): a config without an
 * `imports` key still reads `/etc/containerd/conf.d/*.toml`, and giving it an `imports` key replaces that
 * default, so other drop-ins there would silently stop loading.
 */
export const DEFAULT_CONF_D = '/etc/containerd/conf.d';
/** containerd 2.2+'s implicit `imports` value. */
export const DEFAULT_IMPORTS: readonly string[] = [`${DEFAULT_CONF_D}/*.toml`];

/** Whether a containerd release imports DEFAULT_CONF_D when the config has no `imports` key. */
export function importsConfDByDefault(daemon: SemVer | undefined): boolean {
  return daemon !== undefined && (daemon.major > 2 || (daemon.major === 2 && daemon.minor >= 2));
}

/** The imports containerd acts on for a main config (resolved host paths or globs). */
export function effectiveImports(
  configPath: string,
  main: TomlDocument | undefined,
  daemon: SemVer | undefined,
): string[] {
  const explicit = main === undefined ? undefined : rootImports(main.text);
  if (explicit === undefined) return importsConfDByDefault(daemon) ? [...DEFAULT_IMPORTS] : [];
  return explicit.map((entry) => resolveImport(configPath, entry));
}

/**
 * The text of a throwaway copy of the main config that makes containerd's implicit default imports
 * explicit, so the validator's scratch tree (not the validating machine's own /etc) supplies them.
 */
export function withExplicitDefaultImports(text: string, daemon: SemVer | undefined): string {
  if (!importsConfDByDefault(daemon) || rootImports(text) !== undefined) return text;
  const bom = text.startsWith('\uFEFF') ? '\uFEFF' : '';
  return `${bom}imports = ${JSON.stringify(DEFAULT_IMPORTS)}\n${text.slice(bom.length)}`;
}
