import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import { constants, lstatSync, promises as fs, readlinkSync } from 'node:fs';
import path from 'node:path';
import { changedWhileInstalling, sameBytes } from '../core/concurrent-edit.js';
import { KataDeployError } from '../core/errors.js';
import type { HostFs, WriteOptions } from './host-fs.js';
import { assertHostPath, resolveLinkTarget, staysInsideRoot } from './host-path.js';
import { keepOwner } from './keep-owner.js';

const MAX_LINKS = 40;

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException)?.code === 'ENOENT' || (error as NodeJS.ErrnoException)?.code === 'ENOTDIR';
}

/** HostFs over the real filesystem below `root`; the only code that turns host paths into real paths. */
export class NodeHostFs implements HostFs {
  readonly root: string;

  constructor(root: string) {
    if (!path.isAbsolute(root))
      throw new KataDeployError('usage', `host root "${root}" is not absolute`, {
        hint: 'pass --host-root /host or an absolute directory',
      });
    this.root = path.resolve(root);
  }

  private join(hostPath: string): string {
    return this.root === '/' ? hostPath : path.join(this.root, hostPath);
  }

  async canonical(hostPath: string): Promise<string> {
    const pending = assertHostPath(hostPath).split('/').filter(Boolean);
    let resolved = '/';
    let links = 0;
    while (pending.length > 0) {
      const part = pending.shift()!;
      const candidate = path.posix.join(resolved, part);
      let target: string | undefined;
      try {
        // Synchronous on purpose: one component costs a microsecond or two this way, against a thread-pool
        // round trip per component (a path under the install dir has about ten), for every path we touch.
        const stats = lstatSync(this.join(candidate));
        if (stats.isSymbolicLink()) target = readlinkSync(this.join(candidate));
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
      if (target === undefined) {
        resolved = candidate;
        continue;
      }
      if (++links > MAX_LINKS)
        throw new KataDeployError('usage', `too many symlinks resolving host path "${hostPath}"`);
      if (!target.startsWith('/') && !staysInsideRoot(resolved, target)) {
        throw new KataDeployError(
          'usage',
          `host path "${hostPath}" escapes the host root through symlink ${candidate} -> ${target}`,
          { hint: 'symlinks that point outside the host root are refused' },
        );
      }
      const next = path.posix.normalize(resolveLinkTarget(candidate, target));
      pending.unshift(...next.split('/').filter(Boolean));
      resolved = '/';
    }
    return resolved;
  }

  async realPath(hostPath: string): Promise<string> {
    return this.join(await this.canonical(hostPath));
  }

  async exists(hostPath: string): Promise<boolean> {
    return (await this.stat(hostPath)) !== undefined;
  }

  async stat(hostPath: string): Promise<Stats | undefined> {
    try {
      return await fs.stat(await this.realPath(hostPath));
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async lstat(hostPath: string): Promise<Stats | undefined> {
    const parent = await this.canonical(path.posix.dirname(assertHostPath(hostPath)));
    try {
      return await fs.lstat(this.join(path.posix.join(parent, path.posix.basename(hostPath))));
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async readFile(hostPath: string): Promise<Buffer> {
    try {
      return await fs.readFile(await this.realPath(hostPath));
    } catch (error) {
      // Node leaves the path out of a read's EISDIR; the operator needs it to fix the host.
      const errno = error as NodeJS.ErrnoException;
      if (errno.code !== undefined && errno.path === undefined) errno.path = hostPath;
      throw error;
    }
  }

  async readText(hostPath: string): Promise<string> {
    return (await this.readFile(hostPath)).toString('utf8');
  }

  async readIfExists(hostPath: string): Promise<Buffer | undefined> {
    try {
      return await this.readFile(hostPath);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async readdir(hostPath: string): Promise<string[]> {
    return (await fs.readdir(await this.realPath(hostPath))).sort();
  }

  async readlink(hostPath: string): Promise<string> {
    const parent = await this.canonical(path.posix.dirname(assertHostPath(hostPath)));
    return fs.readlink(this.join(path.posix.join(parent, path.posix.basename(hostPath))));
  }

  async writeFileAtomic(hostPath: string, data: string | Uint8Array, options: WriteOptions = {}): Promise<void> {
    const target = await this.realPath(hostPath);
    const dir = path.dirname(target);
    const temp = path.join(
      dir,
      `.${path.basename(target)}.kata-deploy-${process.pid}-${randomBytes(4).toString('hex')}`,
    );
    const existing = await fs.stat(target).catch(() => undefined);
    const mode = options.mode ?? (existing === undefined ? 0o644 : existing.mode & 0o7777);
    const handle = await fs.open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
    try {
      await handle.writeFile(data);
      // chmod while the file is still ours: after a chown to another owner it would need CAP_FOWNER too.
      await handle.chmod(mode);
      if (existing !== undefined && (existing.uid !== process.getuid?.() || existing.gid !== process.getgid?.()))
        await keepOwner(handle, hostPath, existing);
      await handle.sync();
    } catch (error) {
      await handle.close();
      await fs.rm(temp, { force: true });
      throw error;
    }
    await handle.close();
    try {
      if (options.expected !== undefined) await assertStillHolds(target, hostPath, options.expected);
      await fs.rename(temp, target);
    } catch (error) {
      await fs.rm(temp, { force: true });
      throw error;
    }
    await syncDir(dir);
  }

  async mkdirp(hostPath: string, mode = 0o755): Promise<void> {
    const real = await this.realPath(hostPath);
    try {
      await fs.mkdir(real, { recursive: true, mode });
    } catch (error) {
      if (!isNotFound(error)) throw error;
      await mkdirEach(real, mode);
    }
  }

  async remove(hostPath: string): Promise<void> {
    const parent = await this.canonical(path.posix.dirname(assertHostPath(hostPath)));
    await fs.rm(this.join(path.posix.join(parent, path.posix.basename(hostPath))), { recursive: true, force: true });
  }

  async rmdir(hostPath: string): Promise<void> {
    const parent = await this.canonical(path.posix.dirname(assertHostPath(hostPath)));
    try {
      await fs.rmdir(this.join(path.posix.join(parent, path.posix.basename(hostPath))));
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  async rename(fromHostPath: string, toHostPath: string): Promise<void> {
    const fromParent = await this.canonical(path.posix.dirname(assertHostPath(fromHostPath)));
    const toParent = await this.canonical(path.posix.dirname(assertHostPath(toHostPath)));
    await fs.rename(
      this.join(path.posix.join(fromParent, path.posix.basename(fromHostPath))),
      this.join(path.posix.join(toParent, path.posix.basename(toHostPath))),
    );
    await syncDir(this.join(toParent));
  }

  async symlink(target: string, hostPath: string): Promise<void> {
    const parent = await this.canonical(path.posix.dirname(assertHostPath(hostPath)));
    await fs.symlink(target, this.join(path.posix.join(parent, path.posix.basename(hostPath))));
  }
}

/** Refuses (exit 5) a write over a file that no longer holds what the caller's plan was made from. */
async function assertStillHolds(real: string, hostPath: string, expected: Uint8Array | null): Promise<void> {
  const now = await fs.readFile(real).catch((error: unknown) => {
    if (isNotFound(error)) return null;
    throw error;
  });
  if (!sameBytes(now, expected)) throw changedWhileInstalling(hostPath);
}

/** fsyncs a directory so a rename in it survives a crash. */
/**
 * Creates a directory one level at a time. Recursive mkdir reports ENOENT where a level cannot be
 * created on a read-only filesystem (a pod's read-only root where a hostPath is not mounted); creating
 * each level on its own surfaces the real error (EROFS, EACCES) with the level's path.
 */
async function mkdirEach(real: string, mode: number): Promise<void> {
  let current = '/';
  for (const part of real.split('/').filter(Boolean)) {
    current = path.join(current, part);
    try {
      await fs.mkdir(current, { mode });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}

export async function syncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
