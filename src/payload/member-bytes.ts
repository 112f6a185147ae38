/** Small files kept in memory while unpacking: the pristine Kata configs and root hashes the planners read. */
const KEEP = /^(share\/defaults\/kata-containers\/.*\.toml|share\/kata-containers\/root_hash_[^/]*\.txt)$/;
const KEEP_LIMIT = 1 << 20;
/** Where the executables whose ELF machine we check live. */
const EXECUTABLE_DIRS = /^(bin|libexec|runtime-rs\/bin)\//;

/** True for a member whose bytes the unpack keeps (a pristine Kata config), by path under the install dir. */
export function isKeptConfig(rel: string, size: number): boolean {
  return KEEP.test(rel) && size <= KEEP_LIMIT;
}

/** True for a member whose ELF machine the shims' requirements check reads. */
export function isCheckedExecutable(rel: string): boolean {
  return EXECUTABLE_DIRS.test(rel);
}

/** The ELF `e_machine` in a file's first chunk; undefined when it is not ELF. */
export function elfMachineOf(chunk: Buffer): number | undefined {
  if (chunk.length < 20 || chunk.readUInt32BE(0) !== 0x7f454c46) return undefined;
  return chunk[5] === 2 ? chunk.readUInt16BE(18) : chunk.readUInt16LE(18);
}
