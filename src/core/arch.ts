import { KataDeployError } from './errors.js';

/** The CPU architectures Kata ships for, spelled as uname and the kata-static tarballs spell them. */
export type Arch = 'x86_64' | 'aarch64' | 'ppc64le' | 's390x';

export const ARCHES: readonly Arch[] = ['x86_64', 'aarch64', 'ppc64le', 's390x'];

const FROM_NODE: Readonly<Record<string, Arch>> = {
  x64: 'x86_64',
  arm64: 'aarch64',
  ppc64: 'ppc64le',
  s390x: 's390x',
};

/** Suffix of the per-arch environment variables (`SHIMS_X86_64`), as upstream kata-deploy names them. */
export function archEnvSuffix(arch: Arch): string {
  return arch.toUpperCase();
}

/**
 * Maps Node's `process.arch` (with its endianness, since ppc64 big-endian is not ppc64le) to the Kata
 * name, refusing anything Kata does not ship so the node is never half-installed with foreign binaries.
 */
export function archFromPlatform(nodeArch: string, endianness: 'BE' | 'LE'): Arch {
  const arch = FROM_NODE[nodeArch];
  if (arch === undefined || (arch === 'ppc64le' && endianness !== 'LE')) {
    throw new KataDeployError(
      'node-unsupported',
      `unsupported CPU architecture "${nodeArch}${nodeArch === 'ppc64' ? `-${endianness}` : ''}"`,
      { hint: `Kata Containers ships for ${ARCHES.join(', ')} only; do not schedule kata-deploy on this node` },
    );
  }
  return arch;
}
