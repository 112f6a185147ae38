import { closeSync, lstatSync, readSync, type BigIntStats } from 'node:fs';
import path from 'node:path';
import { DEFAULT_LIMITS } from './entry-policy.js';
import { openNoAtime, readNoAtime } from './no-atime.js';
import type { ManifestEntry } from './manifest.js';
import { elfMachineOf } from './member-bytes.js';
import { PayloadIndex } from './payload-index.js';
import { statSignature } from './stat-signature.js';
import type { UnpackedFacts } from './requirements.js';

/**
 * True when every manifest entry is still on disk as we left it: same type, size, mode and mtime for
 * files and, where the manifest recorded one, the same stat signature (inode and ctime: a write that
 * restores size and mtime still moves ctime); same target length for links. Stat-only (not even
 * readlink, which would update the link's atime), so a reinstall of the same payload decides in
 * milliseconds and writes nothing. For entries of old manifests (no signature), content tampering that
 * keeps size and mtime is not caught.
 */
export function treeIntact(installReal: string, entries: readonly ManifestEntry[]): boolean {
  return entries.every((entry) => entryIntact(installReal, entry));
}

/** Manifest entries no longer on disk as we left them (the same stat-only test as treeIntact). */
export function damagedEntries(installReal: string, entries: readonly ManifestEntry[]): ManifestEntry[] {
  return entries.filter((entry) => !entryIntact(installReal, entry));
}

function entryIntact(installReal: string, entry: ManifestEntry): boolean {
  let stats: BigIntStats;
  try {
    stats = lstatSync(path.join(installReal, entry.path), { bigint: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR')
      return false;
    throw error;
  }
  if (entry.type === 'dir') return stats.isDirectory();
  if (entry.type === 'symlink') return stats.isSymbolicLink() && stats.size === BigInt(Buffer.byteLength(entry.target));
  return (
    stats.isFile() &&
    stats.size === BigInt(entry.size) &&
    Number(stats.mode & 0o7777n) === entry.mode &&
    Math.floor(Number(stats.mtimeNs) / 1e9) === entry.mtime &&
    (entry.sig === undefined || statSignature(stats) === entry.sig)
  );
}

/** True when the install dir is the very tree a manifest was written for (same root inode). */
export function isRootOf(installReal: string, manifest: { readonly rootInode?: number | undefined }): boolean {
  try {
    return manifest.rootInode === undefined || lstatSync(installReal).ino === manifest.rootInode;
  } catch {
    return false;
  }
}

function elfMachine(file: string): number | undefined {
  const fd = openNoAtime(file);
  try {
    const head = Buffer.alloc(20);
    return elfMachineOf(head.subarray(0, readSync(fd, head, 0, 20, 0)));
  } finally {
    closeSync(fd);
  }
}

/**
 * The facts the requirement check needs, rebuilt from an installed tree and its manifest: the selected
 * shims may change between runs while the payload stays the same.
 */
export function installedFacts(installReal: string, entries: readonly ManifestEntry[]): UnpackedFacts {
  const index = new PayloadIndex(DEFAULT_LIMITS);
  for (const entry of entries) {
    if (entry.type === 'file')
      index.nodes.set(entry.path, {
        kind: 'file',
        mode: entry.mode,
        size: entry.size,
        mtime: entry.mtime,
      });
    else if (entry.type === 'symlink') index.nodes.set(entry.path, { kind: 'symlink', target: entry.target });
    else index.nodes.set(entry.path, { kind: 'directory', mode: entry.mode, explicit: true });
  }
  const configs = new Map<string, Buffer>();
  const elfMachines = new Map<string, number>();
  return {
    index,
    configs: new LazyMap(configs, (rel) =>
      rel.endsWith('.toml') && index.nodes.get(rel)?.kind === 'file'
        ? readNoAtime(path.join(installReal, rel))
        : undefined,
    ),
    elfMachines: new LazyMap(elfMachines, (rel) =>
      index.nodes.get(rel)?.kind === 'file' ? elfMachine(path.join(installReal, rel)) : undefined,
    ),
  };
}

/** A read-only map that loads a value on first `get`: only the few files the check asks for are read. */
class LazyMap<V> extends Map<string, V> {
  constructor(
    private readonly store: Map<string, V>,
    private readonly load: (key: string) => V | undefined,
  ) {
    super();
  }

  override get(key: string): V | undefined {
    if (!this.store.has(key)) {
      const value = this.load(key);
      if (value === undefined) return undefined;
      this.store.set(key, value);
    }
    return this.store.get(key);
  }
}
