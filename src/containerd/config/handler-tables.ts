import type { HandlerSpec } from '../../core/handlers.js';
import type { TomlTable } from './toml-document.js';

/** A containerd config `version` (absent = 1). */
export type ConfigVersion = 1 | 2 | 3 | 4;

/**
 * Where CRI keeps its runtime map in each config version. Writing a v2 ID into a v3 file is accepted and
 * silently ignored by containerd, so the version decides the ID and nothing else.
 */
export function runtimesPath(version: ConfigVersion): readonly string[] {
  if (version === 1) return ['plugins', 'cri', 'containerd', 'runtimes'];
  if (version === 2) return ['plugins', 'io.containerd.grpc.v1.cri', 'containerd', 'runtimes'];
  return ['plugins', 'io.containerd.cri.v1.runtime', 'containerd', 'runtimes'];
}

/**
 * From v3 on, images are a separate plugin and pulling for a runtime uses its own snapshotter only when
 * `runtime_platforms.<handler>.snapshotter` says so (upstream writes this too).
 */
export function runtimePlatformsPath(version: ConfigVersion): readonly string[] | undefined {
  return version >= 3 ? ['plugins', 'io.containerd.cri.v1.images', 'runtime_platforms'] : undefined;
}

/** What containerd passes to every Kata handler's containers, as upstream (the termination message path). */
export const CONTAINER_ANNOTATIONS: readonly string[] = Object.freeze(['io.kubernetes.container.terminationMessage*']);

/** One TOML table we own: its key path and its keys, in the order we render them. */
export interface OwnedTable {
  readonly path: readonly string[];
  readonly entries: readonly (readonly [string, string | boolean | readonly string[]])[];
}

/** The runc handler we add when a containerd 1.x config has none (its runtime map replaces the default). */
export interface RuncSpec {
  readonly systemdCgroup: boolean;
}

/** The tables that define our handlers (and runc, when asked), in render order. */
export function handlerTables(
  version: ConfigVersion,
  handlers: readonly HandlerSpec[],
  runc: RuncSpec | undefined,
): OwnedTable[] {
  const runtimes = runtimesPath(version);
  const tables: OwnedTable[] = [];
  for (const handler of handlers) {
    const entries: [string, string | boolean | readonly string[]][] = [
      ['runtime_type', handler.runtimeType],
      ['runtime_path', handler.runtimePath],
      ['privileged_without_host_devices', true],
      ['pod_annotations', handler.podAnnotations ?? []],
      ['container_annotations', CONTAINER_ANNOTATIONS],
    ];
    if (handler.snapshotter !== undefined) entries.push(['snapshotter', handler.snapshotter]);
    tables.push({ path: [...runtimes, handler.name], entries });
    tables.push({ path: [...runtimes, handler.name, 'options'], entries: [['ConfigPath', handler.configPath]] });
    const platforms = runtimePlatformsPath(version);
    if (platforms !== undefined && handler.snapshotter !== undefined) {
      tables.push({ path: [...platforms, handler.name], entries: [['snapshotter', handler.snapshotter]] });
    }
  }
  if (runc !== undefined) {
    tables.push({ path: [...runtimes, 'runc'], entries: [['runtime_type', 'io.containerd.runc.v2']] });
    tables.push({ path: [...runtimes, 'runc', 'options'], entries: [['SystemdCgroup', runc.systemdCgroup]] });
  }
  return tables;
}

/** The parsed value our tables add, keyed by table path, to check edits semantically. */
export function tableValue(table: OwnedTable): TomlTable {
  return Object.fromEntries(table.entries.map(([key, value]) => [key, Array.isArray(value) ? [...value] : value]));
}

/** Renders tables as `[header]` blocks separated by a blank line, with the file's line ending. */
export function renderTables(tables: readonly OwnedTable[], eol: string): string {
  return tables
    .map(
      (table) =>
        [
          `[${renderKeyPath(table.path)}]`,
          ...table.entries.map(([key, value]) => `${renderKey(key)} = ${renderValue(value)}`),
        ].join(eol) + eol,
    )
    .join(eol);
}

/** A key path as TOML writes it: bare where possible, basic-quoted otherwise. */
export function renderKeyPath(path: readonly string[]): string {
  return path.map(renderKey).join('.');
}

function renderKey(key: string): string {
  return /^[A-Za-z0-9_-]+$/.test(key) ? key : renderString(key);
}

/** A TOML basic string for any text (JSON escapes are valid TOML escapes, except `\/`, never emitted). */
export function renderString(text: string): string {
  return JSON.stringify(text).replace(/[\u007f]/g, '\\u007f');
}

function renderValue(value: string | boolean | readonly string[]): string {
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return renderString(value);
  return `[${value.map(renderString).join(', ')}]`;
}
