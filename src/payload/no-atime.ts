import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

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
