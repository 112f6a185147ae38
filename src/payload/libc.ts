import { spawnSync } from 'node:child_process';

let koffi: typeof import('koffi').default | undefined;
let loading: Promise<boolean> | undefined;

/**
 * Loads koffi once; false where its native module cannot load (none is published for s390x). Async
 * callers await it before the calls below, which otherwise take their fallbacks: callers already handle
 * an exchange that is not supported, syncfs runs `sync --file-system`, writeback is only a head start.
 * Not a static import: that would fail the whole CLI at start on such a node.
 */
export function loadLibc(): Promise<boolean> {
  loading ??= import('koffi').then(
    (module) => {
      koffi = module.default;
      return true;
    },
    () => false,
  );
  return loading;
}

/** The few Linux syscalls Node does not expose, reached through koffi: atomic swap, pipes, syncfs. */
interface Libc {
  renameat2(oldDirFd: number, oldPath: string, newDirFd: number, newPath: string, flags: number): number;
  pipe2(fds: number[], flags: number): number;
  fcntl(fd: number, command: number, argument: number): number;
  syncfs(fd: number): number;
  getdents64(fd: number, buffer: Buffer, length: number): number;
  syncFileRange: {
    async(
      fd: number,
      offset: number,
      length: number,
      flags: number,
      callback: (error: unknown, result: number) => void,
    ): void;
  };
}

const AT_FDCWD = -100;
const RENAME_EXCHANGE = 2;
const O_CLOEXEC = 0o2000000;
const F_SETPIPE_SZ = 1031;

let libc: Libc | undefined;

function unsupported(call: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`${call}: koffi's native module is not available (ENOSYS)`);
  error.code = 'ENOSYS';
  return error;
}

function load(call: string): Libc {
  if (libc !== undefined) return libc;
  if (koffi === undefined) throw unsupported(call);
  const lib = koffi.load('libc.so.6');
  libc = {
    renameat2: lib.func('int renameat2(int, const char *, int, const char *, unsigned int)'),
    pipe2: lib.func('int pipe2(_Out_ int *fds, int flags)') as unknown as Libc['pipe2'],
    fcntl: lib.func('int fcntl(int, int, int)'),
    syncfs: lib.func('int syncfs(int)'),
    getdents64: lib.func('long getdents64(int, void *buf, size_t)') as unknown as Libc['getdents64'],
    syncFileRange: lib.func(
      'int sync_file_range(int, int64_t, int64_t, unsigned int)',
    ) as unknown as Libc['syncFileRange'],
  };
  return libc;
}

/** An Error carrying the errno of the failed call, shaped like Node's fs errors (`code`). */
function errnoError(call: string, path?: string): NodeJS.ErrnoException {
  const errno = koffi!.errno();
  const code = Object.entries(koffi!.os.errno).find(([, value]) => value === errno)?.[0] ?? `E${errno}`;
  const error: NodeJS.ErrnoException = new Error(`${call} failed: ${code}${path === undefined ? '' : ` (${path})`}`);
  error.code = code;
  error.errno = errno;
  return error;
}

/**
 * Swaps two paths in one step (renameat2 RENAME_EXCHANGE): the install dir is the old tree or the new
 * one at every instant, so a crash can never leave a half-written /opt/kata.
 */
export function exchangePaths(a: string, b: string): void {
  if (load('renameat2').renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) !== 0)
    throw errnoError('renameat2(RENAME_EXCHANGE)', `${a} <-> ${b}`);
}

/**
 * A blocking, close-on-exec pipe as [read fd, write fd], grown to `size` bytes when the kernel allows.
 * Blocking fds can be read with fs.read into one reused buffer: no per-chunk allocations, so RSS stays
 * flat instead of waiting for V8 to collect hundreds of 64 KiB stream chunks.
 */
export function openPipe(size: number): [number, number] {
  const fds = [0, 0];
  if (load('pipe2').pipe2(fds, O_CLOEXEC) !== 0) throw errnoError('pipe2');
  load('fcntl').fcntl(fds[1]!, F_SETPIPE_SZ, size);
  return [fds[0]!, fds[1]!];
}

/** Flushes every dirty page of one filesystem: one call instead of an fsync per unpacked file. */
export function syncFilesystem(fd: number): void {
  if (koffi === undefined) {
    const result = spawnSync('sync', ['--file-system', `/proc/${process.pid}/fd/${fd}`], { stdio: 'ignore' });
    if (result.status !== 0) throw unsupported('syncfs (and sync --file-system failed)');
    return;
  }
  if (load('syncfs').syncfs(fd) !== 0) throw errnoError('syncfs');
}

const SYNC_FILE_RANGE_WRITE = 2;

/**
 * Starts writeback of a file just written, without waiting for it (on koffi's worker thread). By the
 * time the single syncfs before the switch runs, most pages are already on their way to disk.
 */
export async function startWriteback(fd: number): Promise<void> {
  if (!(await loadLibc())) return;
  return new Promise((resolve) => {
    load('sync_file_range').syncFileRange.async(fd, 0, 0, SYNC_FILE_RANGE_WRITE, () => resolve());
  });
}

/**
 * The names in a directory read through an fd the caller opened (getdents64). Listing a directory with
 * readdir(3) updates its atime; through an O_NOATIME fd it does not.
 */
export function directoryNames(fd: number): string[] {
  const names: string[] = [];
  const buffer = Buffer.alloc(32 * 1024);
  for (;;) {
    const length = Number(load('getdents64').getdents64(fd, buffer, buffer.length));
    if (length < 0) throw errnoError('getdents64');
    if (length === 0) return names;
    for (let offset = 0; offset < length; ) {
      const recordLength = buffer.readUInt16LE(offset + 16);
      const nameEnd = buffer.indexOf(0, offset + 19);
      const name = buffer.toString(
        'utf8',
        offset + 19,
        nameEnd < 0 || nameEnd > offset + recordLength ? offset + recordLength : nameEnd,
      );
      if (name !== '.' && name !== '..') names.push(name);
      offset += recordLength;
    }
  }
}
