import { stat } from 'node:fs/promises';
import { candidateKey } from '../containerd/config/shared-validations.js';
import type { ValidatorChoice } from './validator-binary.js';

/**
 * The identity of a verdict of `containerd config dump`: which binary (path, loader, and the file's device,
 * inode, size, mtime and ctime: an upgrade or a replacement changes one) read which bytes of which files.
 * containerd's verdict on a config is a function of the two, so a run whose key equals the one recorded when
 * that config was accepted knows the verdict without running containerd. Undefined when the binary cannot be
 * pinned down (a bare name looked up on PATH): then containerd always runs.
 */
export async function acceptedConfigKey(
  choice: ValidatorChoice,
  mainConfigPath: string,
  files: ReadonlyMap<string, Buffer | undefined>,
): Promise<string | undefined> {
  if (!choice.binary.startsWith('/')) return undefined;
  const stats = await stat(choice.binary, { bigint: true }).catch(() => undefined);
  if (stats === undefined) return undefined;
  const binary = [
    choice.binary,
    choice.loaderRoot ?? '',
    stats.dev,
    stats.ino,
    stats.size,
    stats.mtimeNs,
    stats.ctimeNs,
  ];
  return `${binary.join(':')}:${candidateKey(mainConfigPath, files)}`;
}
