import path from 'node:path';
import { KataDeployError } from '../core/errors.js';
import { stateDir } from '../core/paths.js';
import type { HostFs } from '../host/host-fs.js';
import type { Settings } from '../settings/settings.js';
import { readNoAtime } from './no-atime.js';
import type { PayloadIndex } from './payload-index.js';

/** One thing we installed, by path relative to the install dir. */
export type ManifestEntry =
  | {
      readonly path: string;
      readonly type: 'file';
      readonly size: number;
      /**
       * sha256 of the bytes, in manifests written before 2026-12 (read, never written now): uninstall still
       * uses it to recognise a file of ours whose stat changed.
       */
      readonly sha256?: string;
      readonly mode: number;
      readonly mtime: number;
      /**
       * Stat signature (`inode:ctime-ns`) taken once the file was complete in staging: any later write,
       * chmod, utime or link changes ctime, so an equal signature means the very inode we wrote, untouched.
       */
      readonly sig?: string;
    }
  | { readonly path: string; readonly type: 'symlink'; readonly target: string }
  | { readonly path: string; readonly type: 'dir'; readonly mode: number };

/** Where the payload came from, precise enough to tell "the same payload again" without reading it. */
export interface PayloadSource {
  readonly location: string;
  /** sha256 of the archive, when it was verified or computed. */
  readonly sha256: string | undefined;
  /** Identity of a local file: unchanged size, mtime, ctime and inode mean unchanged bytes. */
  readonly identity: string | undefined;
}

/**
 * What one install put on the host. Uninstall removes exactly these paths; an upgrade removes the ones
 * the new payload no longer has; everything else under the install dir is someone else's and stays.
 */
export interface PayloadManifest {
  readonly version: 1;
  readonly installDir: string;
  readonly source: PayloadSource;
  /**
   * Inode of the tree's root directory. The swap moves the staging dir's inode to the install dir's
   * name, so after a crash this tells which tree is in place, whatever the files look like.
   */
  readonly rootInode: number | undefined;
  /**
   * Set on the pending manifest by a switch: root inode of the tree it replaced (null when there was no
   * install dir). Until the switch is finalized, that tree is kept and is what a revert restores.
   */
  readonly replacesRootInode?: number | null;
  /** Host directories that did not exist before our first install (the install dir, maybe /opt). */
  readonly createdDirs: readonly string[];
  readonly entries: readonly ManifestEntry[];
}

/** Host path of the manifest of the install these settings describe. */
export function manifestPath(settings: Pick<Settings, 'multiInstallSuffix'>): string {
  return `${stateDir(settings)}/payload-manifest.json`;
}

/** Written before the switch, promoted after it: while it exists, both its files and the old ones may be ours. */
export function pendingManifestPath(settings: Pick<Settings, 'multiInstallSuffix'>): string {
  return `${stateDir(settings)}/payload-manifest.next.json`;
}

/** Builds the manifest entries from what the unpack indexed, with each file's stat signature, in a stable order. */
export function entriesFromIndex(index: PayloadIndex, sigs: ReadonlyMap<string, string>): ManifestEntry[] {
  const entries: ManifestEntry[] = [];
  for (const [rel, node] of [...index.nodes].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (node.kind === 'file')
      entries.push({
        path: rel,
        type: 'file',
        size: node.size,
        mode: node.mode,
        mtime: node.mtime,
        ...(sigs.has(rel) ? { sig: sigs.get(rel) } : {}),
      });
    else if (node.kind === 'symlink') entries.push({ path: rel, type: 'symlink', target: node.target });
    else entries.push({ path: rel, type: 'dir', mode: node.mode });
  }
  return entries;
}

/** An entry without its stat signature: what the payload says, not where it landed. */
function payloadFacts(entry: ManifestEntry): string {
  if (entry.type !== 'file') return JSON.stringify(entry);
  return JSON.stringify([entry.path, entry.size, entry.mode, entry.mtime]);
}

/**
 * True when two manifests install the same tree: same paths, sizes, modes, mtimes and link targets, and
 * the same bytes. Bytes are known equal when both archives have the same sha256 (an archive unpacks to one
 * tree), or, between two old manifests, when every file's recorded sha256 agrees.
 */
export function sameTree(a: PayloadManifest, b: PayloadManifest): boolean {
  const sameArchive = a.source.sha256 !== undefined && a.source.sha256 === b.source.sha256;
  const sameFileDigests = (x: ManifestEntry, y: ManifestEntry): boolean =>
    x.type !== 'file' || (y.type === 'file' && x.sha256 !== undefined && x.sha256 === y.sha256);
  return (
    a.entries.length === b.entries.length &&
    a.entries.every(
      (entry, i) =>
        payloadFacts(entry) === payloadFacts(b.entries[i]!) && (sameArchive || sameFileDigests(entry, b.entries[i]!)),
    )
  );
}

/** The host path of a manifest entry. */
export function entryHostPath(
  manifest: Pick<PayloadManifest, 'installDir'>,
  entry: Pick<ManifestEntry, 'path'>,
): string {
  return path.posix.join(manifest.installDir, entry.path);
}

/** True for a relative path that stays below the dir it is joined to: no `..`, no `/` start, normalised. */
function isPlainRelative(rel: unknown): boolean {
  return (
    typeof rel === 'string' &&
    rel !== '' &&
    !rel.startsWith('/') &&
    path.posix.normalize(rel) === rel &&
    !rel.split('/').includes('..') &&
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
    !/[\u0000-\u001f\u007f]/.test(rel)
  );
}

/**
 * Refuses (exit 5) a manifest whose paths leave the install dir: uninstall unlinks what it lists as
 * root, so an entry `../../etc/passwd`, a `/` install dir or a created dir that is not an ancestor of
 * the install dir would reach any file on the node.
 */
function assertManifestInScope(manifest: PayloadManifest, hostPath: string): void {
  const dir = manifest.installDir;
  const dirOk = typeof dir === 'string' && dir.startsWith('/') && dir !== '/' && isPlainRelative(dir.slice(1));
  const bad = [
    ...(dirOk ? [] : [`installDir ${String(dir)}`]),
    ...manifest.entries.filter((entry) => !isPlainRelative(entry?.path)).map((entry) => `entry ${String(entry?.path)}`),
    ...(manifest.createdDirs ?? [])
      .filter(
        (created) =>
          !dirOk || !(dir === created || dir.startsWith(`${created}/`)) || !isPlainRelative(created.slice(1)),
      )
      .map((created) => `created dir ${String(created)}`),
  ];
  if (bad.length === 0) return;
  throw new KataDeployError(
    'config-refused',
    `payload manifest ${hostPath} names ${bad.slice(0, 5).join(', ')}, outside the install dir; refusing to act on it`,
    { hint: 'nothing was changed; the manifest was edited or planted: inspect the state dir by hand' },
  );
}

async function readManifestFile(fs: HostFs, hostPath: string): Promise<PayloadManifest | undefined> {
  if (!(await fs.exists(hostPath))) return undefined;
  const bytes = readNoAtime(await fs.realPath(hostPath));
  try {
    const parsed = JSON.parse(bytes.toString('utf8')) as PayloadManifest;
    if (parsed.version !== 1 || !Array.isArray(parsed.entries)) throw new Error('unknown manifest version');
    assertManifestInScope(parsed, hostPath);
    return parsed;
  } catch (error) {
    if (error instanceof KataDeployError) throw error;
    throw new KataDeployError('internal', `payload manifest ${hostPath} is unreadable: ${(error as Error).message}`, {
      hint: `move ${hostPath} aside and reinstall; files it listed will then be treated as foreign`,
      cause: error,
    });
  }
}

/** The manifest of the current install, and the pending one if a switch was interrupted. */
export async function readManifests(
  settings: Pick<Settings, 'multiInstallSuffix'>,
  fs: HostFs,
): Promise<{ current: PayloadManifest | undefined; pending: PayloadManifest | undefined }> {
  return {
    current: await readManifestFile(fs, manifestPath(settings)),
    pending: await readManifestFile(fs, pendingManifestPath(settings)),
  };
}

/** Serialises a manifest: one entry per line, so a diff of two installs reads well. */
export function renderManifest(manifest: PayloadManifest): string {
  const { entries, ...head } = manifest;
  const headText = JSON.stringify(head, null, 2).replace(/\n}$/, '');
  return (
    `${headText},\n  "entries": [\n${entries.map((entry) => `    ${JSON.stringify(entry)}`).join(',\n')}\n  ` + `]\n}\n`
  );
}
