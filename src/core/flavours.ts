import type { RuntimeFlavour } from '../settings/settings.js';

/** How a runtime distribution wants its config changed. */
export type ConfigStrategy = 'containerd-main' | 'k3s-drop-in' | 'k0s-drop-in' | 'microk8s-template' | 'crio-drop-in';

/** Where a distribution keeps its runtime config, socket and unit, as upstream kata-deploy knows them. */
export interface FlavourLayout {
  readonly flavour: RuntimeFlavour;
  readonly strategy: ConfigStrategy;
  readonly configPath: string;
  readonly socket: string;
  /** The systemd unit to restart; undefined where the distribution reloads on its own (k0s). */
  readonly unit: string | undefined;
}

const K3S_CONFIG = '/var/lib/rancher/k3s/agent/etc/containerd/config.toml';
const RKE2_CONFIG = '/var/lib/rancher/rke2/agent/etc/containerd/config.toml';
const K3S_SOCKET = '/run/k3s/containerd/containerd.sock';

/** One entry per flavour: the only place these host paths are written down. */
export const FLAVOUR_LAYOUTS: Readonly<Record<RuntimeFlavour, FlavourLayout>> = Object.freeze({
  containerd: {
    flavour: 'containerd',
    strategy: 'containerd-main',
    configPath: '/etc/containerd/config.toml',
    socket: '/run/containerd/containerd.sock',
    unit: 'containerd.service',
  },
  k3s: { flavour: 'k3s', strategy: 'k3s-drop-in', configPath: K3S_CONFIG, socket: K3S_SOCKET, unit: 'k3s.service' },
  'k3s-agent': {
    flavour: 'k3s-agent',
    strategy: 'k3s-drop-in',
    configPath: K3S_CONFIG,
    socket: K3S_SOCKET,
    unit: 'k3s-agent.service',
  },
  'rke2-server': {
    flavour: 'rke2-server',
    strategy: 'k3s-drop-in',
    configPath: RKE2_CONFIG,
    socket: K3S_SOCKET,
    unit: 'rke2-server.service',
  },
  'rke2-agent': {
    flavour: 'rke2-agent',
    strategy: 'k3s-drop-in',
    configPath: RKE2_CONFIG,
    socket: K3S_SOCKET,
    unit: 'rke2-agent.service',
  },
  'k0s-worker': {
    flavour: 'k0s-worker',
    strategy: 'k0s-drop-in',
    configPath: '/etc/k0s/containerd.toml',
    socket: '/run/k0s/containerd.sock',
    unit: undefined,
  },
  'k0s-controller': {
    flavour: 'k0s-controller',
    strategy: 'k0s-drop-in',
    configPath: '/etc/k0s/containerd.toml',
    socket: '/run/k0s/containerd.sock',
    unit: undefined,
  },
  microk8s: {
    flavour: 'microk8s',
    strategy: 'microk8s-template',
    configPath: '/var/snap/microk8s/current/args/containerd-template.toml',
    socket: '/var/snap/microk8s/common/run/containerd.sock',
    unit: 'snap.microk8s.daemon-containerd.service',
  },
  crio: {
    flavour: 'crio',
    strategy: 'crio-drop-in',
    configPath: '/etc/crio/crio.conf',
    socket: '/var/run/crio/crio.sock',
    unit: 'crio.service',
  },
});

/** Directories where systemd unit files live on common distributions, searched to recognise a flavour. */
export const UNIT_DIRS: readonly string[] = [
  '/etc/systemd/system',
  '/usr/local/lib/systemd/system',
  '/lib/systemd/system',
  '/usr/lib/systemd/system',
];

/**
 * The order flavours are recognised in: the most specific first, because a k3s or rke2 node also has
 * containerd files, and a k0s node may have a stray /etc/containerd.
 */
export const FLAVOUR_MARKERS: readonly {
  readonly flavour: RuntimeFlavour;
  readonly units: readonly string[];
  readonly files: readonly string[];
}[] = [
  { flavour: 'k0s-controller', units: ['k0scontroller.service'], files: [] },
  { flavour: 'k0s-worker', units: ['k0sworker.service'], files: [] },
  { flavour: 'rke2-agent', units: ['rke2-agent.service'], files: [] },
  { flavour: 'rke2-server', units: ['rke2-server.service'], files: [] },
  { flavour: 'k3s-agent', units: ['k3s-agent.service'], files: [] },
  { flavour: 'k3s', units: ['k3s.service'], files: [] },
  {
    flavour: 'microk8s',
    units: ['snap.microk8s.daemon-containerd.service'],
    files: ['/var/snap/microk8s/current/args/containerd-template.toml'],
  },
  { flavour: 'crio', units: ['crio.service'], files: ['/usr/bin/crio', '/usr/local/bin/crio'] },
];
