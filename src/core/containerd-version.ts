/** A containerd release as major.minor.patch, parsed from `1.6.20~ds1` or `v2.1.4-k3s1`. */
export interface SemVer {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
}

/** Reads the first x.y[.z] in a version string; undefined when there is none. */
export function parseSemVer(text: string): SemVer | undefined {
  const match = /(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  if (match === null) return undefined;
  return { major: Number(match[1]), minor: Number(match[2]), patch: Number(match[3] ?? 0) };
}

/** The highest config `version` a containerd release reads. */
export function maxConfigVersion(daemon: SemVer): number {
  if (daemon.major < 2) return 2;
  if (daemon.major === 2 && daemon.minor < 3) return 3;
  return 4;
}

/**
 * Explains why a config file's `version` and the daemon cannot work together, or undefined when they
 * can. containerd 1.6 accepts `version = 3` and silently ignores every 2.x section, so a handler written
 * there would never appear: this must be caught before writing, not after a restart.
 */
export function configVersionMismatch(daemon: SemVer, configVersion: number): string | undefined {
  const max = maxConfigVersion(daemon);
  if (configVersion <= max) return undefined;
  const release = `${daemon.major}.${daemon.minor}`;
  if (daemon.major === 1 && daemon.minor <= 6) {
    return (
      `containerd ${release} reads config version ${max} at most; it silently ignores the sections of a version ` +
      `${configVersion} file`
    );
  }
  return `containerd ${release} reads config version ${max} at most and refuses a version ${configVersion} file`;
}
