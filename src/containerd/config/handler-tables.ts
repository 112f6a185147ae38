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

/** A value we write: what TOML scalars and inline arrays/tables containerd's dump can hold. */
export type OwnedValue = string | boolean | number | bigint | readonly OwnedValue[] | { [key: string]: OwnedValue };

/** One TOML table we own: its key path and its keys, in the order we render them. */
export interface OwnedTable {
  readonly path: readonly string[];
  readonly entries: readonly (readonly [string, OwnedValue])[];
}

/**
 * The runc handler we add when a containerd 1.x config has none (its runtime map replaces the default):
 * the effective runc of the pre-install `config dump`, so runc pods keep exactly the cgroup driver and
 * options they run with now. Without a dump (pure planning), containerd's own runtime type and nothing else.
 */
export interface RuncSpec {
  readonly table: TomlTable;
}

/** The runc a 1.x runtime map gets when no `config dump` says what runc runs with. */
export const PLAIN_RUNC: TomlTable = { runtime_type: 'io.containerd.runc.v2' };

/** The tables that define our handlers (and runc, when asked), in render order. */
export function handlerTables(
  version: ConfigVersion,
  handlers: readonly HandlerSpec[],
  runc: RuncSpec | undefined,
): OwnedTable[] {
  const runtimes = runtimesPath(version);
  const tables: OwnedTable[] = [];
  for (const handler of handlers) {
    const entries: [string, OwnedValue][] = [
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
  if (runc !== undefined) tables.push(...tablesOf([...runtimes, 'runc'], runc.table));
  return tables;
}

/** A parsed table as our tables: its plain keys at `path`, each sub-table as a table of its own below. */
function tablesOf(path: readonly string[], table: TomlTable): OwnedTable[] {
  const entries: [string, OwnedValue][] = [];
  const below: OwnedTable[] = [];
  for (const [key, value] of Object.entries(table)) {
    if (isPlainTable(value)) below.push(...tablesOf([...path, key], value));
    else entries.push([key, value as OwnedValue]);
  }
  return [{ path, entries }, ...below];
}

function isPlainTable(value: unknown): value is TomlTable {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** The parsed value our tables add, keyed by table path, to check edits semantically. */
export function tableValue(table: OwnedTable): TomlTable {
  return Object.fromEntries(table.entries.map(([key, value]) => [key, value]));
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

function renderValue(value: OwnedValue): string {
  if (typeof value === 'string') return renderString(value);
  if (typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (typeof value === 'number') return renderNumber(value);
  if (Array.isArray(value)) return `[${value.map(renderValue).join(', ')}]`;
  const pairs = Object.entries(value as { [key: string]: OwnedValue });
  return pairs.length === 0
    ? '{}'
    : `{ ${pairs.map(([key, item]) => `${renderKey(key)} = ${renderValue(item)}`).join(', ')} }`;
}

function renderNumber(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
  return String(value);
}
