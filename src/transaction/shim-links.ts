import { KataDeployError } from '../core/errors.js';
import type { ShimLink } from '../core/shim-lookup.js';
import type { HostFs } from '../host/host-fs.js';

/**
 * A shim link in the ledger. It is recorded before it is created, so a crash never leaves a link nobody
 * knows about; `committed` turns true when the run that made it commits, and a rollback (or the
 * recovery of a run that died) removes the uncommitted ones.
 */
export interface ShimLinkRecord extends ShimLink {
  readonly committed: boolean;
}

/** What a link's path holds: nothing, our symlink (to our target), or something else. */
export type LinkPathState =
  | { readonly kind: 'absent' }
  | { readonly kind: 'ours' }
  | { readonly kind: 'foreign'; readonly what: string };

/** Looks at a link's path without following it. */
export async function linkPathState(fs: HostFs, link: Pick<ShimLink, 'path' | 'target'>): Promise<LinkPathState> {
  const stats = await fs.lstat(link.path);
  if (stats === undefined) return { kind: 'absent' };
  if (!stats.isSymbolicLink()) return { kind: 'foreign', what: stats.isFile() ? 'a regular file' : 'not a file' };
  const target = await fs.readlink(link.path);
  return target === link.target ? { kind: 'ours' } : { kind: 'foreign', what: `a symbolic link to ${target}` };
}

/** Whether the path holds the link a ledger record describes (our symlink, perhaps to an older target). */
async function holdsRecorded(fs: HostFs, path: string, recorded: readonly ShimLinkRecord[]): Promise<boolean> {
  const record = recorded.find((link) => link.path === path);
  return record !== undefined && (await linkPathState(fs, record)).kind === 'ours';
}

/**
 * Refuses (exit 5, before anything is written) a link path that holds a file we did not put there: it is
 * the operator's, or another tool's, and replacing it would change what their runtime runs. A symlink to
 * exactly our shim that we did not record is left alone (it already launches our shim) and not adopted.
 * Returns the links to create or to point at a new target (our recorded link to an older install dir).
 */
export async function assertLinksPlaceable(
  fs: HostFs,
  links: readonly ShimLink[],
  recorded: readonly ShimLinkRecord[],
  runtime: string,
): Promise<ShimLink[]> {
  const toWrite: ShimLink[] = [];
  for (const link of links) {
    const state = await linkPathState(fs, link);
    if (state.kind === 'ours') continue;
    if (state.kind === 'absent' || (await holdsRecorded(fs, link.path, recorded))) {
      toWrite.push(link);
      continue;
    }
    throw new KataDeployError(
      'config-refused',
      `${link.path} is ${state.what}, not kata-deploy's link to ${link.target}; ${runtime} ignores runtime_path ` +
        `and would run that file for handler ${link.handler}`,
      {
        hint:
          `nothing was changed; remove ${link.path} if it is left over from an older Kata install, or upgrade ` +
          'containerd to 1.6.21+ or 1.7.1+, which exec runtime_path',
      },
    );
  }
  return toWrite;
}

/**
 * Writes each link (absent, or our recorded link to an older target), recording it uncommitted in the
 * ledger through `record` first. Recorded links that are no longer wanted stay until `removeLinks`.
 */
export async function createLinks(
  fs: HostFs,
  links: readonly ShimLink[],
  recorded: readonly ShimLinkRecord[],
  record: (links: readonly ShimLinkRecord[]) => Promise<void>,
): Promise<ShimLinkRecord[]> {
  if (links.length === 0) return [...recorded];
  const rewritten = new Set(links.map((link) => link.path));
  const next = [
    ...recorded.filter((link) => !rewritten.has(link.path)),
    ...links.map((link) => ({ ...link, committed: false })),
  ];
  await record(next);
  for (const link of links) {
    if ((await linkPathState(fs, link)).kind !== 'absent') await fs.remove(link.path);
    await fs.symlink(link.target, link.path);
  }
  return next;
}

/** Removes the recorded links `which` selects, each only while it is still our symlink; returns the rest. */
export async function removeLinks(
  fs: HostFs,
  recorded: readonly ShimLinkRecord[],
  which: (link: ShimLinkRecord) => boolean,
): Promise<ShimLinkRecord[]> {
  for (const link of recorded.filter(which)) {
    if ((await linkPathState(fs, link)).kind === 'ours') await fs.remove(link.path);
  }
  return recorded.filter((link) => !which(link));
}
