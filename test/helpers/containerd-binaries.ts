import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

/** A real containerd binary the tests can run, with the version it reports. */
export interface ContainerdBinary {
  readonly version: string;
  readonly path: string;
}

const REPO = path.resolve(import.meta.dirname, '../..');

/**
 * The containerd binaries on this machine: Debian 12's 1.6 from apt, and the 1.7 and 2.x binaries that
 * scripts/ci/containerd-binaries.sh unpacks into .cache/containerd. Missing ones are simply absent.
 */
export function containerdBinaries(): ContainerdBinary[] {
  const candidates = [
    '/usr/bin/containerd',
    ...['trixie', 'sid'].map((suite) => path.join(REPO, '.cache/containerd', suite, 'usr/bin/containerd')),
  ];
  return candidates
    .filter((file) => existsSync(file))
    .map((file) => {
      const out = execFileSync(file, ['--version'], { encoding: 'utf8' });
      return { path: file, version: /\s(\d+\.\d+\.\d+)/.exec(out)?.[1] ?? 'unknown' };
    });
}
