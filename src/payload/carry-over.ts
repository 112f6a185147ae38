import { existsSync, linkSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../host/logger.js';

/**
 * Brings everything under the old install dir that is not ours (per the manifests) into the staging
 * tree before the swap: operators' files, and the per-handler configs other steps wrote. Hard links,
 * so nothing is copied and a file someone holds open keeps its inode. Where the new payload now ships
 * the same path, the payload wins and we say so. Returns the foreign paths carried, relative.
 */
export function carryOverForeign(
  oldRoot: string,
  stagingRoot: string,
  ours: ReadonlySet<string>,
  log: Logger,
): string[] {
  const carried: string[] = [];
  const replaced: string[] = [];
  const walk = (rel: string): void => {
    for (const entry of readdirSync(path.join(oldRoot, rel), { withFileTypes: true })) {
      const childRel = rel === '' ? entry.name : `${rel}/${entry.name}`;
      const from = path.join(oldRoot, childRel);
      const to = path.join(stagingRoot, childRel);
      if (entry.isDirectory()) {
        if (lstatExists(to) && !lstatSync(to).isDirectory()) {
          replaced.push(`${childRel}/`);
          continue;
        }
        if (!ours.has(childRel) && !existsSync(to)) {
          mkdirSync(to, { recursive: true, mode: lstatSync(from).mode & 0o7777 });
          carried.push(childRel);
        }
        walk(childRel);
        continue;
      }
      if (ours.has(childRel)) continue;
      if (lstatExists(to)) {
        replaced.push(childRel);
        continue;
      }
      mkdirSync(path.dirname(to), { recursive: true, mode: 0o755 });
      linkSync(from, to);
      carried.push(childRel);
    }
  };
  walk('');
  if (replaced.length > 0) {
    log.warn(
      { count: replaced.length, paths: replaced.slice(0, 10) },
      'the new payload ships paths that held files kata-deploy did not install (an earlier install without a ' +
        'manifest?); the payload versions replace them',
    );
  }
  return carried;
}

function lstatExists(file: string): boolean {
  try {
    lstatSync(file);
    return true;
  } catch {
    return false;
  }
}
