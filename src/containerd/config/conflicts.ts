import { KataDeployError } from '../../core/errors.js';
import { runtimesPath } from './handler-tables.js';
import { getPath, isTable, type TomlDocument } from './toml-document.js';
import { scanToml } from './toml-lexer.js';

const ALL_RUNTIME_MAPS = [runtimesPath(1), runtimesPath(2), runtimesPath(3)];

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
    throw new KataDeployError('config-refused', `${doc.path}${lineOf(doc, clash)}: runtime handler "${clash}" is already defined by someone else`, {
      hint: `remove or rename that runtime, or install with MULTI_INSTALL_SUFFIX so our handlers get other names; nothing was changed`,
    });
  }
}

function lineOf(doc: TomlDocument, handler: string): string {
  const table = scanToml(doc.text).tables.find((item) => item.path.at(-1) === handler && ALL_RUNTIME_MAPS.some((map) => map.every((key, i) => item.path[i] === key)));
  if (table === undefined) return '';
  return `:${doc.text.slice(0, table.start).split('\n').length}`;
}
