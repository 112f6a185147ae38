import type { Stats } from 'node:fs';

/** Options for an atomic write: file mode, and whether an existing target's mode is kept. */
export interface WriteOptions {
  readonly mode?: number;
  /**
   * The bytes the target must still hold just before the rename (null: it must not exist). When they
   * differ, someone wrote the file since it was read: the write is abandoned (exit 5), theirs stands.
   */
  readonly expected?: Uint8Array | null;
}

/**
 * The host's filesystem, addressed by host paths (`/etc/containerd/config.toml`) and resolved under one
 * host root (`/host` in the DaemonSet, `/` on bare metal, a temp dir in tests). Symlinks are followed
 * the way the host would follow them, never out of the root. Every write is atomic.
 */
export interface HostFs {
  /** The real directory the host root is mounted at. */
  readonly root: string;
  /** The real path of a host path, following symlinks inside the host root. */
  realPath(hostPath: string): Promise<string>;
  /** The host path a host path finally designates after following symlinks. */
  canonical(hostPath: string): Promise<string>;
  exists(hostPath: string): Promise<boolean>;
  stat(hostPath: string): Promise<Stats | undefined>;
  lstat(hostPath: string): Promise<Stats | undefined>;
  readFile(hostPath: string): Promise<Buffer>;
  readText(hostPath: string): Promise<string>;
  /** The file's bytes, or undefined when it does not exist. */
  readIfExists(hostPath: string): Promise<Buffer | undefined>;
  readdir(hostPath: string): Promise<string[]>;
  readlink(hostPath: string): Promise<string>;
  /** Writes via temp file + fsync + rename + directory fsync, so readers see the old or the new file. */
  writeFileAtomic(hostPath: string, data: string | Uint8Array, options?: WriteOptions): Promise<void>;
  mkdirp(hostPath: string, mode?: number): Promise<void>;
  /** Removes an empty directory; a missing one is not an error, a non-empty one is (ENOTEMPTY). */
  rmdir(hostPath: string): Promise<void>;
  /** Removes a file or (recursively) a directory; a missing path is not an error. */
  remove(hostPath: string): Promise<void>;
  rename(fromHostPath: string, toHostPath: string): Promise<void>;
  symlink(target: string, hostPath: string): Promise<void>;
}
