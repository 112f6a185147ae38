import path from 'node:path';
import { type RuntimeProcessFacts, SYSTEMD_DEFAULT_PATH } from '../core/shim-lookup.js';
import type { HostFs } from '../host/host-fs.js';
import { unitFilePath } from './unit-environment.js';

/** The PATH entries of a process environment block (`/proc/<pid>/environ`: NUL-separated `KEY=value`). */
export function pathFromEnviron(environ: Buffer): string[] | undefined {
  const entry = environ
    .toString('utf8')
    .split('\0')
    .find((line) => line.startsWith('PATH='));
  return entry?.slice('PATH='.length).split(':');
}

/**
 * Reads how the running runtime resolves a shim by name: its PATH from `/proc/<pid>/environ`, its working
 * directory and executable from `/proc/<pid>/{cwd,exe}` (host paths: the daemon runs in the host's mount
 * namespace). The pid comes from its systemd unit (MainPID). Where /proc cannot be read (the DaemonSet
 * mounts only /proc/cpuinfo), the PATH its unit files set, else systemd's default; `/` as working directory
 * (a system service's) and `/usr/bin` for the binary.
 */
export async function readRuntimeProcessFacts(
  fs: HostFs,
  pid: number | undefined,
  unit: string | undefined,
): Promise<RuntimeProcessFacts> {
  const environ =
    pid === undefined || pid <= 0 ? undefined : await fs.readIfExists(`/proc/${pid}/environ`).catch(() => undefined);
  const found = environ === undefined ? undefined : pathFromEnviron(environ);
  if (found === undefined) {
    const fromUnit = unit === undefined ? undefined : await unitFilePath(fs, unit);
    return {
      cwd: '/',
      path: fromUnit?.path ?? SYSTEMD_DEFAULT_PATH,
      exeDir: '/usr/bin',
      source: fromUnit?.source ?? "systemd's default PATH (no runtime process or unit PATH found)",
    };
  }
  const link = (name: string) => fs.readlink(`/proc/${pid}/${name}`).catch(() => undefined);
  const cwd = (await link('cwd')) ?? '/';
  const exe = (await link('exe'))?.replace(/ \(deleted\)$/, '');
  return {
    cwd,
    path: found,
    exeDir: exe === undefined ? '/usr/bin' : path.posix.dirname(exe),
    source: `/proc/${pid}/environ`,
  };
}
