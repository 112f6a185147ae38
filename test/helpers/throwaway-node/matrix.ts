import { containerdBinaries } from '../containerd-binaries.js';
import { throwawayNodeUnsupported } from './node.mjs';

/** A containerd the real-node tests run against: 1.6 (Debian 12), 1.7 and 2.x (trixie, sid via scripts/ci). */
export interface ContainerdCase {
  readonly label: string;
  /** 1 for 1.6/1.7 (imports replace whole plugin sections), 2 for 2.x (deep merge, CRI split in plugins). */
  readonly major: 1 | 2;
  readonly binary: string | undefined;
  /** Why this case cannot run here (printed in the skipped suite's name), or undefined. */
  readonly missing: string | undefined;
}

const nodeMissing = throwawayNodeUnsupported();

/** containerd 1.6 (Debian 12), 1.7 and 2.x (their CRI layouts differ); each says what is missing to run it. */
export function containerdCases(): ContainerdCase[] {
  const binaries = containerdBinaries();
  const pick = (label: string, prefix: string, hint: string): ContainerdCase => {
    const binary = binaries.find((candidate) => candidate.version.startsWith(prefix))?.path;
    return {
      label,
      major: prefix.startsWith('1.') ? 1 : 2,
      binary,
      missing: nodeMissing ?? (binary === undefined ? hint : undefined),
    };
  };
  return [
    pick('containerd 1.6', '1.6.', 'needs /usr/bin/containerd 1.6 (apt-get install -y containerd runc)'),
    pick('containerd 1.7', '1.7.', 'needs containerd 1.7 (bash scripts/ci/containerd-binaries.sh)'),
    pick('containerd 2.x', '2.', 'needs containerd 2.x (bash scripts/ci/containerd-binaries.sh)'),
  ];
}

/** A minimal CRI config every containerd generation accepts (2.x migrates version 2). */
export const RUNC_ONLY = `version = 2
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
`;

/** RUNC_ONLY plus one kata handler, as an install would leave it. */
export const WITH_KATA = `${RUNC_ONLY}[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.kata-qemu]
  runtime_type = "io.containerd.kata-qemu.v2"
`;

/**
 * A config that containerd starts with but whose CRI plugin fails. 1.6/1.7 replace the default runtime
 * map, so a map without runc is enough; 2.x deep-merges runc back in, so name a missing default.
 */
export function criBreakingConfig(major: 1 | 2): string {
  return major === 1
    ? `version = 2
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.kata-qemu]
  runtime_type = "io.containerd.kata-qemu.v2"
`
    : `version = 2
[plugins."io.containerd.grpc.v1.cri".containerd]
  default_runtime_name = "kata-missing"
`;
}
