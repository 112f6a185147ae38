import { closeSync, constants, fstatSync, openSync, readdirSync, readSync } from 'node:fs';
import { directoryNames } from './libc.js';

/**
 * Opens a file for reading without updating its access time (O_NOATIME, allowed to the file's owner
 * and to root), falling back to a plain open. A no-op reinstall reads the manifest and a few headers;
 * with relatime the first such read after an install would otherwise dirty inodes: bytes written by a
 * run that should write none.
 */
export function openNoAtime(file: string): number {
  try {
    return openSync(file, constants.O_RDONLY | constants.O_NOATIME);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') throw error;
    return openSync(file, constants.O_RDONLY);
  }
}

/** Reads a whole (small) file without touching its atime. */
export function readNoAtime(file: string): Buffer {
  const fd = openNoAtime(file);
  try {
    const data = Buffer.alloc(fstatSync(fd).size);
    let offset = 0;
    while (offset < data.length) {
      const n = readSync(fd, data, offset, data.length - offset, offset);
      if (n === 0) break;
      offset += n;
    }
    return data.subarray(0, offset);
  } finally {
    closeSync(fd);
  }
}

/**
 * The names in a directory, listed without touching its atime: a converged reinstall looks for
 * leftovers beside the install dir, and a plain readdir there would dirty the parent's inode once
 * after every install (relatime). Falls back to readdir where O_NOATIME is refused.
 */
export function readDirNoAtime(dir: string): string[] {
  let fd: number;
  try {
    fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOATIME);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') throw error;
    return readdirSync(dir);
  }
  try {
    return directoryNames(fd);
  } catch (error) {
    // Without koffi's native module there is no getdents64: list it the ordinary way (the atime moves).
    if ((error as NodeJS.ErrnoException).code !== 'ENOSYS') throw error;
    return readdirSync(dir);
  } finally {
    closeSync(fd);
  }
}
