// The three patch formats the API server accepts for a Node, applied the way it applies them to the
// fields kata-deploy writes (labels are a map, spec.taints is an atomic list).
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** RFC 7386: objects merge, `null` deletes, everything else replaces. */
export function applyMergePatch(target: unknown, patch: unknown): Json {
  if (!isObject(patch)) return patch as Json;
  const result: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key], value);
  }
  return result;
}

/**
 * Strategic merge patch for Node fields: maps merge as in RFC 7386 and lists replace, which is what the
 * API server does for labels and for spec.taints (no patch merge key). `$patch` directives are refused.
 */
export function applyStrategicMergePatch(target: unknown, patch: unknown): Json {
  if (JSON.stringify(patch).includes('"$patch"'))
    throw new PatchError('$patch directives are not supported by the fake');
  return applyMergePatch(target, patch);
}

/** A patch that cannot apply (a failed `test`, a missing path): the server answers 422. */
export class PatchError extends Error {}

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new PatchError(`bad JSON pointer ${path}`);
  return path
    .slice(1)
    .split('/')
    .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'));
}

type Op = { op: string; path: string; value?: Json };

/** RFC 6902 add/remove/replace/test on objects (enough for labels, taints and metadata tests). */
export function applyJsonPatch(target: unknown, ops: unknown): Json {
  if (!Array.isArray(ops)) throw new PatchError('a JSON patch must be an array');
  const doc = structuredClone(target) as Json;
  for (const op of ops as Op[]) {
    const parts = pointer(op.path);
    const last = parts.pop();
    let parent: Json = doc;
    for (const part of parts) {
      if (!isObject(parent) || !(part in parent)) throw new PatchError(`path ${op.path} does not exist`);
      parent = parent[part]!;
    }
    if (last === undefined || !isObject(parent)) throw new PatchError(`path ${op.path} cannot be patched`);
    switch (op.op) {
      case 'test':
        if (JSON.stringify(parent[last]) !== JSON.stringify(op.value))
          throw new PatchError(`test failed at ${op.path}`);
        break;
      case 'remove':
        if (!(last in parent)) throw new PatchError(`cannot remove missing ${op.path}`);
        delete parent[last];
        break;
      case 'replace':
        if (!(last in parent)) throw new PatchError(`cannot replace missing ${op.path}`);
        parent[last] = op.value ?? null;
        break;
      case 'add':
        parent[last] = op.value ?? null;
        break;
      default:
        throw new PatchError(`unsupported op ${op.op}`);
    }
  }
  return doc;
}
