import { closeSync, lstatSync, openSync, readdirSync, readlinkSync, readSync } from 'node:fs';
import path from 'node:path';

const PT_INTERP = 3;
const MAX_LINKS = 40;
/** Top-level dirs a merged-/usr host keeps as links into /usr; the DaemonSet mounts /usr, not the links. */
const MERGED_INTO_USR = new Set(['lib', 'lib64', 'lib32', 'libx32', 'bin', 'sbin']);

function readAt(fd: number, offset: number, length: number): Buffer {
  const buffer = Buffer.alloc(length);
  const read = readSync(fd, buffer, 0, length, offset);
  return buffer.subarray(0, read);
}

/**
 * The program interpreter (PT_INTERP) an ELF executable names, e.g. /lib64/ld-linux-x86-64.so.2, or
 * undefined for a static binary, a script or an unreadable file: only a dynamic binary needs a loader.
 */
export function elfInterpreter(file: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const header = readAt(fd, 0, 64);
    if (header.length < 52 || header.readUInt32BE(0) !== 0x7f454c46) return undefined;
    const wide = header[4] === 2;
    const little = header[5] === 1;
    const u16 = (b: Buffer, at: number) => (little ? b.readUInt16LE(at) : b.readUInt16BE(at));
    const u32 = (b: Buffer, at: number) => (little ? b.readUInt32LE(at) : b.readUInt32BE(at));
    const word = (b: Buffer, at: number) =>
      wide ? Number(little ? b.readBigUInt64LE(at) : b.readBigUInt64BE(at)) : u32(b, at);
    const tableAt = word(header, wide ? 0x20 : 0x1c);
    const entrySize = u16(header, wide ? 0x36 : 0x2a);
    const entries = u16(header, wide ? 0x38 : 0x2c);
    for (let index = 0; index < entries; index += 1) {
      const entry = readAt(fd, tableAt + index * entrySize, entrySize);
      if (entry.length < (wide ? 0x28 : 0x20) || u32(entry, 0) !== PT_INTERP) continue;
      const bytes = readAt(fd, word(entry, wide ? 8 : 4), word(entry, wide ? 0x20 : 0x10));
      return bytes.toString('latin1').replace(/\0.*$/s, '');
    }
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/**
 * Where a host path really is under `root` (a mounted host root), following symlinks the way the host
 * would (absolute targets stay inside `root`). A top-level /lib, /lib64, /bin or /sbin that is not there
 * is read as /usr/… (merged /usr: the host's /lib is a link to usr/lib, and only /usr is mounted).
 */
export function resolveUnderRoot(root: string, hostPath: string): string | undefined {
  let pending = hostPath.split('/').filter(Boolean);
  let resolved: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const [name, ...rest] = pending as [string, ...string[]];
    pending = rest;
    if (name === '.') continue;
    if (name === '..') {
      resolved.pop();
      continue;
    }
    const candidate = path.join(root, ...resolved, name);
    const stats = lstatSync(candidate, { throwIfNoEntry: false });
    if (stats === undefined) {
      if (resolved.length === 0 && MERGED_INTO_USR.has(name)) {
        pending = ['usr', name, ...pending];
        continue;
      }
      return undefined;
    }
    if (!stats.isSymbolicLink()) {
      resolved.push(name);
      continue;
    }
    links += 1;
    if (links > MAX_LINKS) return undefined;
    const target = readlinkSync(candidate);
    if (target.startsWith('/')) resolved = [];
    pending = [...target.split('/').filter(Boolean), ...pending];
  }
  return path.join(root, ...resolved);
}

/** The host's library directories under `root` that exist (multiarch first, as the host's loader orders them). */
function hostLibraryDirs(root: string): string[] {
  const multiarch = ['/usr/lib', '/lib'].flatMap((dir) => {
    const real = resolveUnderRoot(root, dir);
    if (real === undefined) return [];
    const names = readdirSync(real, { withFileTypes: true }).filter((e) => e.isDirectory() && /-linux-/.test(e.name));
    return names.map((entry) => `${dir}/${entry.name}`);
  });
  const dirs = [...multiarch, '/lib64', '/usr/lib64', '/lib', '/usr/lib'].flatMap((dir) => {
    const real = resolveUnderRoot(root, dir);
    return real !== undefined && lstatSync(real).isDirectory() ? [real] : [];
  });
  return [...new Set(dirs)];
}

/**
 * How to run a binary of a mounted host root from a container whose own libraries are not the host's:
 * a dynamic binary runs through the host's own dynamic loader with only the host's library dirs (and
 * not this container's ld.so.cache), so the host's containerd loads the host's glibc even when the image
 * is older, without chroot (no CAP_SYS_CHROOT, and the pod does not mount the host's /lib). A static
 * binary, one outside the root, or a root without its loader runs directly.
 */
export function hostLoaderCommand(
  binary: string,
  hostRoot: string | undefined,
  args: readonly string[],
): { file: string; args: string[] } {
  const direct = { file: binary, args: [...args] };
  if (hostRoot === undefined || hostRoot === '/' || !binary.startsWith(`${hostRoot}/`)) return direct;
  const interpreter = elfInterpreter(binary);
  if (interpreter === undefined) return direct;
  try {
    const loader = resolveUnderRoot(hostRoot, interpreter);
    if (loader === undefined) return direct;
    const glibc = !path.basename(interpreter).startsWith('ld-musl');
    const libraryPath = hostLibraryDirs(hostRoot).join(':');
    return {
      file: loader,
      args: [...(glibc ? ['--inhibit-cache'] : []), '--library-path', libraryPath, binary, ...args],
    };
  } catch {
    // An unreadable part of the host root: the caller's version probe then decides on the direct run.
    return direct;
  }
}
