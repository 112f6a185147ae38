import { isTable, tomlEqual, type TomlTable } from './toml-document.js';

/** The CRI plugin of a v2 config and the v3 plugins containerd 2.x migrates it into. */
const V2_CRI = 'io.containerd.grpc.v1.cri';
const MIGRATED_CRI = [V2_CRI, 'io.containerd.cri.v1.runtime', 'io.containerd.cri.v1.images'];

/**
 * The key paths the operator's drop-in may change in containerd's merged config: every table in it that
 * sets a value itself (containerd fills in the rest of such a table, e.g. a runtime's defaults) and every
 * value outside one. A table that only holds other tables (`plugins`) licenses nothing by itself. A v2
 * file's CRI paths license the v3 CRI plugins too, since containerd 2.x dumps them migrated.
 */
export function userDropInScope(value: TomlTable): string[][] {
  const scope: string[][] = [];
  const walk = (table: TomlTable, at: string[]): void => {
    const children = Object.entries(table);
    if (at.length > 0 && children.some(([, child]) => !isTable(child))) {
      scope.push(at);
      return;
    }
    for (const [key, child] of children) {
      if (isTable(child)) walk(child, [...at, key]);
      else scope.push([...at, key]);
    }
  };
  walk(value, []);
  const migrated = scope.flatMap((keyPath) =>
    keyPath[0] === 'plugins' && keyPath[1] === V2_CRI ? MIGRATED_CRI.map((id) => ['plugins', id]) : [],
  );
  return [...scope, ...migrated].filter((keyPath) => keyPath[0] !== 'version' && keyPath[0] !== 'imports');
}

/**
 * The first key path where the merged config with the operator's drop-in differs from the one without it,
 * outside what the drop-in names (userDropInScope); undefined when it changes only what it says. What
 * this catches: a drop-in that, merged, resets sections it never mentions (containerd#12891-style version
 * effects, a plugin section replaced whole). `imports` and `version` are containerd's own bookkeeping.
 */
export function userDropInOverreach(without: TomlTable, withUser: TomlTable, user: TomlTable): string | undefined {
  const scope = userDropInScope(user);
  const licensed = (at: readonly string[]): boolean =>
    scope.some((keyPath) => keyPath.length <= at.length && keyPath.every((key, i) => at[i] === key));
  const compare = (a: unknown, b: unknown, at: string[]): string | undefined => {
    if (licensed(at)) return undefined;
    if (isTable(a) && isTable(b)) {
      for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
        if (at.length === 0 && (key === 'imports' || key === 'version')) continue;
        const found = compare(a[key], b[key], [...at, key]);
        if (found !== undefined) return found;
      }
      return undefined;
    }
    return tomlEqual(a, b) ? undefined : at.join('.') || '(root)';
  };
  return compare(without, withUser, []);
}
