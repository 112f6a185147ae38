import { KataDeployError } from '../../core/errors.js';
import { runtimesPath } from './handler-tables.js';
import { BLOCK_MARKER } from './in-place-edit.js';
import { getPath, isTable, type TomlDocument } from './toml-document.js';
import { scanToml } from './toml-lexer.js';

const ALL_RUNTIME_MAPS = [runtimesPath(1), runtimesPath(2), runtimesPath(3)];

/** The first words of every drop-in we render (see renderDropIn), to recognise one we wrote. */
export const DROP_IN_HEADER_START = '# Written by kata-deploy.';

/** The runtime names a parsed config defines, under any CRI plugin ID. */
export function definedRuntimes(doc: TomlDocument): Set<string> {
  const names = new Set<string>();
  for (const mapPath of ALL_RUNTIME_MAPS) {
    const map = getPath(doc.value, mapPath);
    if (isTable(map)) for (const name of Object.keys(map)) names.add(name);
  }
  return names;
}

/**
 * Refuses when a handler we are about to define already exists in a file we did not write: replacing an
 * operator's `kata-qemu` (kubespray writes one) would silently change what their pods run.
 */
export function refuseForeignHandlers(docs: readonly TomlDocument[], wanted: readonly string[]): void {
  for (const doc of docs) {
    const defined = definedRuntimes(doc);
    const clash = wanted.find((name) => defined.has(name));
    if (clash === undefined) continue;
    const ours = doc.text.includes(BLOCK_MARKER) || doc.text.startsWith(DROP_IN_HEADER_START);
    throw new KataDeployError(
      'config-refused',
      `${doc.path}${lineOf(doc, clash)}: runtime handler "${clash}" is already defined by someone else`,
      {
        hint: ours
          ? 'it was written by an earlier kata-deploy install whose record in /var/lib/kata-deploy is gone: run ' +
            'uninstall with that state, or delete the kata-deploy tables (or drop-in) by hand; nothing was changed'
          : 'remove or rename that runtime, or install with MULTI_INSTALL_SUFFIX so our handlers get other names; ' +
            'nothing was changed',
      },
    );
  }
}

function lineOf(doc: TomlDocument, handler: string): string {
  const table = scanToml(doc.text).tables.find(
    (item) =>
      item.path.at(-1) === handler && ALL_RUNTIME_MAPS.some((map) => map.every((key, i) => item.path[i] === key)),
  );
  if (table === undefined) return '';
  return `:${doc.text.slice(0, table.start).split('\n').length}`;
}
