import type { RuntimeFlavour } from './settings.js';
import { settingsError } from './parse-values.js';

/** The distribution the chart was told it runs on (`k8sDistribution`), passed as K8S_DISTRIBUTION. */
export type K8sDistribution = 'k8s' | 'kubeadm' | 'vanilla' | 'k3s' | 'rke2' | 'k0s' | 'microk8s';

const DISTRIBUTIONS: readonly K8sDistribution[] = ['k8s', 'kubeadm', 'vanilla', 'k3s', 'rke2', 'k0s', 'microk8s'];

/** Which runtime flavours each declared distribution runs; CRI-O is never cross-checked (upstream N10). */
const FLAVOURS_OF: Readonly<Record<K8sDistribution, readonly RuntimeFlavour[]>> = {
  k8s: ['containerd'],
  kubeadm: ['containerd'],
  vanilla: ['containerd'],
  k3s: ['k3s', 'k3s-agent'],
  rke2: ['rke2-server', 'rke2-agent'],
  k0s: ['k0s-worker', 'k0s-controller'],
  microk8s: ['microk8s'],
};

/** Validates K8S_DISTRIBUTION's spelling; an empty value is unset. */
export function parseK8sDistribution(raw: string | undefined): K8sDistribution | undefined {
  if (raw === undefined) return undefined;
  const value = raw.toLowerCase() as K8sDistribution;
  if (!DISTRIBUTIONS.includes(value))
    throw settingsError('K8S_DISTRIBUTION', `"${raw}" is not a distribution`, DISTRIBUTIONS.join(' | '));
  return value;
}

/** The K8S_DISTRIBUTION value that matches a detected flavour (what the error tells the operator to set). */
export function distributionFor(flavour: RuntimeFlavour): K8sDistribution | undefined {
  if (flavour === 'crio') return undefined;
  return DISTRIBUTIONS.find((name) => name !== 'kubeadm' && name !== 'vanilla' && FLAVOURS_OF[name].includes(flavour));
}

/**
 * Upstream's cross-check: the declared distribution chose which host directory the chart mounted, so a
 * mismatch means Kata would be configured where this node's runtime never looks. Returns the problem, or
 * undefined when they agree (or nothing was declared, or the node runs CRI-O).
 */
export function distributionMismatch(
  declared: K8sDistribution | undefined,
  flavour: RuntimeFlavour,
): string | undefined {
  if (declared === undefined || flavour === 'crio' || FLAVOURS_OF[declared].includes(flavour)) return undefined;
  return `K8S_DISTRIBUTION=${declared} but this node runs ${flavour}; set K8S_DISTRIBUTION=${distributionFor(flavour)}`;
}
