// The kubelet stand-in's RuntimeDefault seccomp filter (test/helpers/seccomp/), on this host first: what it
// allows and refuses, each for a reason containerd's profile gives, in processes started under it by the
// stand-in's own loader. Root only (installing a filter without no_new_privs needs CAP_SYS_ADMIN).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { assembleSeccomp, seccompArch, syscallTable } from '../helpers/seccomp/bpf.js';
import { seccompLoaderArgv } from '../helpers/seccomp/loader.js';
import { runtimeDefaultProfile } from '../helpers/seccomp/runtime-default.js';

const arch = seccompArch();
const notRoot = process.getuid?.() !== 0 ? 'not root' : undefined;
const skip = typeof arch === 'string' ? arch : notRoot;
const loader = { node: process.execPath, koffi: path.resolve(import.meta.dirname, '../../node_modules/koffi') };

/** Runs argv under RuntimeDefault for a container with `capabilities`. */
function underFilter(capabilities: readonly string[], argv: readonly string[]) {
  if (typeof arch === 'string') throw new Error(arch);
  const { program } = assembleSeccomp(runtimeDefaultProfile(capabilities), arch);
  const [file, ...args] = seccompLoaderArgv(loader, program, argv);
  const run = spawnSync(file!, args, { encoding: 'utf8' });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('the syscall table and the assembled program', () => {
  it('reads the numbers from the kernel header, aliases resolved', () => {
    const table = syscallTable('#define __NR3264_fcntl 25\n#define __NR_fcntl __NR3264_fcntl\n#define __NR_read 63\n');
    expect([...table]).toEqual([
      ['fcntl', 25],
      ['read', 63],
    ]);
  });

  it.skipIf(typeof arch === 'string')(
    'fits a classic BPF program and knows the syscalls Node and the daemon use',
    () => {
      if (typeof arch === 'string') return;
      const { program, unknown } = assembleSeccomp(runtimeDefaultProfile(['CHOWN']), arch);
      expect(program.length).toBeLessThanOrEqual(4096);
      for (const name of ['read', 'openat', 'clone', 'execve', 'socket', 'epoll_wait', 'futex', 'fchown'])
        expect(unknown).not.toContain(name);
    },
  );
});

describe.skipIf(skip !== undefined)(`RuntimeDefault with only CAP_CHOWN${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('runs a shell, Node with its threads (clone3 answered ENOSYS, glibc falls back to clone) and a socket', () => {
    const node = underFilter(
      ['CHOWN'],
      [
        process.execPath,
        '-e',
        'require("node:net").createServer().listen(0, "127.0.0.1", function () { ' +
          'console.log("listening"); this.close(); })',
      ],
    );
    expect(node.stderr).toBe('');
    expect(node.stdout.trim()).toBe('listening');
    expect(underFilter(['CHOWN'], ['/bin/sh', '-c', 'ls / >/dev/null && echo ok']).stdout.trim()).toBe('ok');
  });

  it('refuses unshare and mount with EPERM (CAP_SYS_ADMIN would allow them), here where root may do both', () => {
    const unshare = underFilter(['CHOWN'], ['/usr/bin/unshare', '--user', '/bin/true']);
    expect(unshare.status).not.toBe(0);
    expect(unshare.stderr).toMatch(/unshare failed: Operation not permitted/);
    const mount = underFilter(['CHOWN'], ['/usr/bin/unshare', '--mount', '/bin/true']);
    expect(mount.stderr).toMatch(/Operation not permitted/);
    expect(underFilter(['CHOWN', 'SYS_ADMIN'], ['/usr/bin/unshare', '--mount', '/bin/true']).status).toBe(0);
    expect(spawnSync('/usr/bin/unshare', ['--user', '/bin/true']).status).toBe(0);
  });

  it('allows personality only for the personas the profile names', () => {
    expect(underFilter(['CHOWN'], ['/usr/bin/setarch', 'linux64', '/bin/true']).status).toBe(0);
    const noRandomize = underFilter(['CHOWN'], ['/usr/bin/setarch', 'linux64', '-R', '/bin/true']);
    expect(noRandomize.status).not.toBe(0);
    expect(noRandomize.stderr).toMatch(/Operation not permitted/);
  });

  it('refuses AF_VSOCK and AF_ALG sockets, allows AF_UNIX', () => {
    const probe = `
      const koffi = require(process.argv[1]);
      const socket = koffi.load('libc.so.6').func('int socket(int, int, int)');
      const errno = koffi.load('libc.so.6').func('int *__errno_location()');
      for (const family of [1, 38, 40]) {
        const fd = socket(family, 1 | 0x80000, 0);
        console.log(family, fd >= 0 ? 'ok' : koffi.decode(errno(), 'int'));
      }`;
    const run = underFilter(['CHOWN'], [process.execPath, '-e', probe, loader.koffi]);
    expect(run.stdout.trim().split('\n')).toEqual(['1 ok', '38 1', '40 1']);
  });
});
