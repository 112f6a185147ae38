import type { HostFs } from '../host/host-fs.js';

/** The cgroup driver the kubelet uses, which a runc handler we add must match (SystemdCgroup). */
export interface CgroupDriver {
  readonly systemd: boolean;
  readonly evidence: string;
}

const KUBELET_CONFIGS = [
  '/var/lib/kubelet/config.yaml',
  '/etc/kubernetes/kubelet-config.yaml',
  '/var/lib/kubelet/kubeadm-flags.env',
];

/**
 * Reads the kubelet's configured cgroup driver where it is written down; otherwise assumes systemd when
 * the host booted with systemd (kubeadm's default since 1.22) and cgroupfs when it did not.
 */
export async function detectCgroupDriver(fs: HostFs): Promise<CgroupDriver> {
  for (const file of KUBELET_CONFIGS) {
    const text = (await fs.readIfExists(file))?.toString('utf8');
    const driver =
      text === undefined ? undefined : /cgroup[-_]?driver["']?\s*[:=]\s*["']?(systemd|cgroupfs)/i.exec(text)?.[1];
    if (driver !== undefined)
      return { systemd: driver.toLowerCase() === 'systemd', evidence: `${file} says ${driver}` };
  }
  if (await fs.exists('/run/systemd/system'))
    return { systemd: true, evidence: 'host booted with systemd (no kubelet cgroupDriver found)' };
  return { systemd: false, evidence: 'host not booted with systemd (no kubelet cgroupDriver found)' };
}
