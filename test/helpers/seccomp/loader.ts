// How the stand-in installs a seccomp filter in the container it starts, as runc does just before it execs
// the entrypoint: a Node one-liner on the image's own Node and the image's koffi (the bundle ships it) calls
// prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER) on its main thread, then process.execve() replaces it with the
// next program, which keeps the filter (and so does every process it starts). The setup runs with all
// capabilities, so no_new_privs is not needed to install it; setpriv sets that next.
import { type BpfInstruction, programBytes } from './bpf.ts';

const LOADER = String.raw`
const [, koffiPath, program, file, ...args] = process.argv;
const koffi = require(koffiPath);
const libc = koffi.load('libc.so.6');
const fprog = koffi.struct('kubelet_standin_sock_fprog', { len: 'uint16', filter: 'void *' });
const prctl = libc.func('int prctl(int, unsigned long, kubelet_standin_sock_fprog *, unsigned long, unsigned long)');
const filter = Buffer.from(program, 'base64');
if (prctl(22, 2, { len: filter.length / 8, filter }, 0, 0) !== 0) {
  process.stderr.write('kubelet-standin: prctl(PR_SET_SECCOMP) failed\n');
  process.exit(97);
}
process.execve(file, [file, ...args], process.env);
`;

/** Where the loader finds Node and koffi inside the image. */
export interface SeccompLoader {
  readonly node: string;
  readonly koffi: string;
}

/** The argv that installs `program` and then execs `next` (an absolute path first). */
export function seccompLoaderArgv(
  loader: SeccompLoader,
  program: readonly BpfInstruction[],
  next: readonly string[],
): string[] {
  return [loader.node, '-e', LOADER, loader.koffi, programBytes(program).toString('base64'), ...next];
}
