import type { OwnedTable } from './handler-tables.js';
import type { RecordedConfigFile } from './record.js';
import { isTable, parseTomlDocument, type TomlTable } from './toml-document.js';

/** containerd's own log level, which upstream's DEBUG also raises (`[debug] level = "debug"`). */
export const DEBUG_LEVEL_TABLE: OwnedTable = { path: ['debug'], entries: [['level', 'debug']] };

/** The config key DEBUG sets, as a path in `containerd config dump`. */
export const DEBUG_LEVEL_PATH: readonly string[] = ['debug', 'level'];

/**
 * Whether our install may raise containerd's log level: DEBUG asks for it and no file containerd reads
 * (besides those we own) already has a `[debug]` table, so an operator's level, or any `[debug]` they wrote,
 * is never touched and our table can be appended as a whole. `mainText` is the main file without what an
 * earlier install of ours put in it.
 */
export function mayRaiseDebugLevel(
  debug: boolean,
  mainPath: string,
  mainText: string | undefined,
  current: ReadonlyMap<string, Buffer | undefined>,
  previousFiles: readonly RecordedConfigFile[],
): boolean {
  if (!debug) return false;
  const ours = new Set(previousFiles.filter((file) => file.ownedWhole).map((file) => file.path));
  const texts = [...current.entries()]
    .filter(([file, bytes]) => bytes !== undefined && file !== mainPath && !ours.has(file))
    .map(([file, bytes]) => ({ file, text: (bytes as Buffer).toString('utf8') }));
  if (mainText !== undefined) texts.push({ file: mainPath, text: mainText });
  return !texts.some(({ file, text }) => {
    try {
      return isTable((parseTomlDocument(file, text).value as TomlTable).debug);
    } catch {
      return false;
    }
  });
}
