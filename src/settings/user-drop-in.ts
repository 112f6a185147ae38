import path from 'node:path';
import { settingsError } from './parse-values.js';
import { upstreamValue } from './upstream-values.js';

/** Reads a file of this container (not under the host root); undefined when it does not exist. */
export type ContainerFileReader = (file: string) => Buffer | undefined;

/**
 * CONTAINERD_USER_DROP_IN_SOURCE_FILE as read: where the operator's file is in this container (the chart
 * mounts its ConfigMap at /custom-containerd-config/) and its bytes, kept verbatim: it is copied, never
 * re-serialised.
 */
export interface UserDropInSource {
  readonly source: string;
  readonly bytes: Buffer;
}

/** Larger than any containerd drop-in written by hand; the planner parses and compares it like a config. */
const MAX_USER_DROP_IN_BYTES = 1024 * 1024;

/**
 * Reads CONTAINERD_USER_DROP_IN_SOURCE_FILE (an empty value is unset). Like upstream, a named file that
 * does not exist is an error rather than a silent no-op: the operator asked for settings they would not get.
 */
export function parseUserDropIn(
  env: Readonly<Record<string, string | undefined>>,
  read: ContainerFileReader,
): UserDropInSource | undefined {
  const name = 'CONTAINERD_USER_DROP_IN_SOURCE_FILE';
  const source = upstreamValue(env, name);
  if (source === undefined) return undefined;
  const accepted =
    'an absolute path of a TOML file in the kata-deploy container (the chart mounts containerd.userDropIn)';
  if (!path.posix.isAbsolute(source) || path.posix.normalize(source) !== source)
    throw settingsError(name, `"${source}" is not an absolute, normalised path`, accepted);
  const bytes = read(source);
  if (bytes === undefined) throw settingsError(name, `${source} does not exist`, accepted);
  if (bytes.length > MAX_USER_DROP_IN_BYTES)
    throw settingsError(name, `${source} is ${bytes.length} bytes`, `${accepted}, at most ${MAX_USER_DROP_IN_BYTES}`);
  return { source, bytes };
}
