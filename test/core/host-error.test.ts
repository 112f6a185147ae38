import { describe, expect, it } from 'vitest';
import { KataDeployError } from '../../src/core/errors.js';
import { unexpectedRunFailure } from '../../src/core/host-error.js';

function errno(code: string, message: string, path?: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code, ...(path === undefined ? {} : { path }) });
}

describe('unexpectedRunFailure', () => {
  it('names the path and says what to do when the disk is full', () => {
    const error = unexpectedRunFailure(
      'install',
      errno('ENOSPC', 'ENOSPC: no space left on device, write', '/opt/.kata-deploy-staging.kata'),
    );
    expect(error.message).toBe(
      'install failed: ENOSPC: no space left on device, write (/opt/.kata-deploy-staging.kata)',
    );
    expect(error.hint).toMatch(/filesystem is full/);
  });

  it('points at the mount for a read-only filesystem', () => {
    expect(unexpectedRunFailure('uninstall', errno('EROFS', 'EROFS: read-only file system')).hint).toMatch(
      /read-write/,
    );
  });

  it('keeps a KataDeployError as it is', () => {
    const original = new KataDeployError('config-refused', 'x', { hint: 'y' });
    expect(unexpectedRunFailure('install', original)).toBe(original);
  });

  it('calls anything else a bug, with exit 1', () => {
    const error = unexpectedRunFailure('install', new TypeError('boom'));
    expect(error.exitCode).toBe(1);
    expect(error.hint).toMatch(/bug/);
  });

  it.each(['EISDIR', 'ENOTDIR', 'EBUSY', 'ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM', 'ELOOP'])(
    'treats %s as a host state the operator fixes (exit 5 with a hint), not a bug (exit 1)',
    (code) => {
      const error = unexpectedRunFailure('install', errno(code, `${code}: something, open`, '/etc/containerd/x'));
      expect(error.exitCode).toBe(5);
      expect(error.message).toContain('/etc/containerd/x');
      expect(error.hint).not.toMatch(/bug/);
    },
  );
});
