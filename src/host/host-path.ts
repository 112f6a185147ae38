import path from 'node:path';
import { KataDeployError } from '../core/errors.js';

/**
 * Checks that a host path is absolute and normalised (no `..`, no `.`), so every path the program
 * handles reads the same way the host would print it.
 */
export function assertHostPath(hostPath: string): string {
  if (!hostPath.startsWith('/')) {
    throw new KataDeployError('usage', `host path "${hostPath}" is not absolute`, {
      hint: 'host paths are written as the host sees them, starting with "/"',
    });
  }
  const parts = hostPath.split('/');
  if (parts.includes('..') || parts.includes('.')) {
    throw new KataDeployError('usage', `host path "${hostPath}" contains "." or ".." segments`, {
      hint: 'paths that could escape the host root are refused',
    });
  }
  return path.posix.normalize(hostPath).replace(/(.)\/$/, '$1');
}

/** Joins a host path onto a symlink target the way the host kernel would read the link. */
export function resolveLinkTarget(linkHostPath: string, target: string): string {
  if (target.startsWith('/')) return target;
  return path.posix.join(path.posix.dirname(linkHostPath), target);
}

/** True when a normalised absolute path stays inside `/` (a relative link with too many `..` does not). */
export function staysInsideRoot(dir: string, relativeTarget: string): boolean {
  let depth = dir.split('/').filter(Boolean).length;
  for (const part of relativeTarget.split('/')) {
    if (part === '..') depth -= 1;
    else if (part !== '' && part !== '.') depth += 1;
    if (depth < 0) return false;
  }
  return true;
}
