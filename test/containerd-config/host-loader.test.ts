import { execFileSync } from 'node:child_process';
import { existsSync, linkSync, copyFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { elfInterpreter, hostLoaderCommand, resolveUnderRoot } from '../../src/containerd/config/host-loader.js';
import { containerdBinaries } from '../helpers/containerd-binaries.js';
import { makeTempRoot, type TempRoot } from '../helpers/temp-root.js';

const debianContainerd = containerdBinaries().find((binary) => binary.path === '/usr/bin/containerd');
const staticContainerd = containerdBinaries().find((binary) => elfInterpreter(binary.path) === undefined);

describe('elfInterpreter', () => {
  it.skipIf(debianContainerd === undefined)("names Debian's dynamically linked containerd's loader", () => {
    expect(elfInterpreter('/usr/bin/containerd')).toMatch(/^\/lib(64)?\/ld-linux[-\w.]*\.so\.\d$/);
  });

  it.skipIf(staticContainerd === undefined)('is undefined for a static containerd release binary', () => {
    expect(elfInterpreter(staticContainerd!.path)).toBeUndefined();
  });

  it('is undefined for a script and for a missing file', async () => {
    expect(elfInterpreter(path.resolve('scripts/bench.mjs'))).toBeUndefined();
    expect(elfInterpreter('/nonexistent/containerd')).toBeUndefined();
  });
});

describe('resolveUnderRoot', () => {
  let temp: TempRoot | undefined;
  afterEach(async () => {
    await temp?.cleanup();
    temp = undefined;
  });

  it('follows absolute links inside the root and never out of it', async () => {
    temp = await makeTempRoot({
      '/usr/lib/x86_64-linux-gnu/ld.so': 'loader',
      '/usr/lib64/ld-linux.so.2': { symlink: '/lib/x86_64-linux-gnu/ld.so' },
      '/usr/lib/up': { symlink: '../../../../../../etc' },
      '/etc': { dir: true },
    });
    expect(resolveUnderRoot(temp.root, '/lib64/ld-linux.so.2')).toBe(
      path.join(temp.root, 'usr/lib/x86_64-linux-gnu/ld.so'),
    );
    expect(resolveUnderRoot(temp.root, '/usr/lib/up')).toBe(path.join(temp.root, 'etc'));
    expect(resolveUnderRoot(temp.root, '/usr/lib/missing.so')).toBeUndefined();
  });

  it('gives up on a link loop', async () => {
    temp = await makeTempRoot({ '/usr/a': { symlink: 'b' }, '/usr/b': { symlink: 'a' } });
    expect(resolveUnderRoot(temp.root, '/usr/a')).toBeUndefined();
  });
});

describe.skipIf(debianContainerd === undefined)('hostLoaderCommand', () => {
  let temp: TempRoot | undefined;
  afterEach(async () => {
    await temp?.cleanup();
    temp = undefined;
  });

  it('runs a binary on the real root or outside the host root directly', () => {
    expect(hostLoaderCommand('/usr/bin/containerd', '/', ['--version'])).toEqual({
      file: '/usr/bin/containerd',
      args: ['--version'],
    });
    expect(hostLoaderCommand('/usr/bin/containerd', '/host', [])).toEqual({ file: '/usr/bin/containerd', args: [] });
  });

  it('runs it directly when the host root does not carry its loader', async () => {
    temp = await makeTempRoot({ '/usr/bin': { dir: true } });
    const binary = path.join(temp.root, 'usr/bin/containerd');
    try {
      linkSync('/usr/bin/containerd', binary);
    } catch {
      copyFileSync('/usr/bin/containerd', binary);
    }
    expect(hostLoaderCommand(binary, temp.root, ['--version'])).toEqual({ file: binary, args: ['--version'] });
  });

  it("runs a dynamic binary through the host root's own loader and only its library dirs", () => {
    // The real root stands in for a mounted host root: everything must be read under it, nothing from /.
    const root = existsSync('/proc/self/root/usr') ? '/proc/self/root' : '/';
    const command = hostLoaderCommand(`${root}/usr/bin/containerd`, root, ['--version']);
    expect(command.file.startsWith(`${root}/`)).toBe(true);
    expect(path.basename(command.file)).toMatch(/^ld-linux/);
    expect(command.args[0]).toBe('--inhibit-cache');
    expect(command.args[1]).toBe('--library-path');
    for (const dir of command.args[2]!.split(':')) expect(dir.startsWith(`${root}/`), dir).toBe(true);
    expect(command.args.slice(3)).toEqual([`${root}/usr/bin/containerd`, '--version']);
    expect(execFileSync(command.file, command.args, { encoding: 'utf8' })).toMatch(/^containerd .* 1\.6\./);
  });
});
