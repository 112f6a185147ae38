/**
 * One row per setting: its CLI flag and the environment variables that set it, most specific first.
 * The CLI builds its flags from this table and the parser reads the environment through it, so a flag
 * and its variable can never drift apart.
 */
export interface OptionSpec {
  readonly key: OptionKey;
  readonly flag: string;
  /** Environment variable names; `{ARCH}` is replaced by the node's arch suffix (e.g. X86_64). */
  readonly env: readonly string[];
  readonly description: string;
  readonly boolean?: boolean;
}

export type OptionKey =
  | 'nodeName'
  | 'shims'
  | 'defaultShim'
  | 'debug'
  | 'installationPrefix'
  | 'multiInstallSuffix'
  | 'allowedHypervisorAnnotations'
  | 'agentHttpsProxy'
  | 'agentNoProxy'
  | 'snapshotterHandlerMapping'
  | 'createRuntimeClasses'
  | 'createDefaultRuntimeClass'
  | 'startupTaints'
  | 'hostRoot'
  | 'payload'
  | 'payloadSha256'
  | 'allowUnverifiedPayload'
  | 'runtime'
  | 'containerdConfig'
  | 'containerdSocket'
  | 'systemdSocket'
  | 'unit'
  | 'restart'
  | 'readinessTimeout'
  | 'restartBudget'
  | 'kubeconfig'
  | 'json'
  | 'logLevel'
  | 'logFormat'
  | 'dryRun'
  | 'healthPort'
  | 'daemonSetName'
  | 'podNamespace'
  | 'requireKvm'
  | 'requireKvmProof'
  | 'httpsProxy'
  | 'noProxy'
  | 'payloadCa'
  | 'containerdBinary'
  | 'testFailpoint';

export const OPTION_SPECS: readonly OptionSpec[] = [
  { key: 'nodeName', flag: '--node-name <name>', env: ['NODE_NAME'], description: 'Kubernetes node to label' },
  {
    key: 'shims',
    flag: '--shims <list>',
    env: ['SHIMS_{ARCH}', 'SHIMS'],
    description: 'space-separated shims to install',
  },
  {
    key: 'defaultShim',
    flag: '--default-shim <shim>',
    env: ['DEFAULT_SHIM_{ARCH}', 'DEFAULT_SHIM'],
    description: 'shim behind the `kata` RuntimeClass',
  },
  {
    key: 'debug',
    flag: '--debug',
    env: ['DEBUG'],
    description: 'add kata-<shim>-debug handlers with guest debug on',
    boolean: true,
  },
  {
    key: 'installationPrefix',
    flag: '--installation-prefix <dir>',
    env: ['INSTALLATION_PREFIX'],
    description: 'absolute prefix for /opt/kata',
  },
  {
    key: 'multiInstallSuffix',
    flag: '--multi-install-suffix <suffix>',
    env: ['MULTI_INSTALL_SUFFIX'],
    description: 'suffix for side-by-side installs (dir, handlers, labels)',
  },
  {
    key: 'allowedHypervisorAnnotations',
    flag: '--allowed-hypervisor-annotations <list>',
    env: ['ALLOWED_HYPERVISOR_ANNOTATIONS_{ARCH}', 'ALLOWED_HYPERVISOR_ANNOTATIONS'],
    description: 'space-separated annotations (or shim:annotation) to enable',
  },
  {
    key: 'agentHttpsProxy',
    flag: '--agent-https-proxy <value>',
    env: ['AGENT_HTTPS_PROXY'],
    description: 'guest agent HTTPS proxy, global or shim=value;…',
  },
  {
    key: 'agentNoProxy',
    flag: '--agent-no-proxy <value>',
    env: ['AGENT_NO_PROXY'],
    description: 'guest agent NO_PROXY, global or shim=value;…',
  },
  {
    key: 'snapshotterHandlerMapping',
    flag: '--snapshotter-handler-mapping <map>',
    env: ['SNAPSHOTTER_HANDLER_MAPPING_{ARCH}', 'SNAPSHOTTER_HANDLER_MAPPING'],
    description: 'shim:snapshotter,… per handler',
  },
  {
    key: 'createRuntimeClasses',
    flag: '--create-runtimeclasses',
    env: ['CREATE_RUNTIMECLASSES'],
    description: 'create a kata-<shim> RuntimeClass per shim',
    boolean: true,
  },
  {
    key: 'createDefaultRuntimeClass',
    flag: '--create-default-runtimeclass',
    env: ['CREATE_DEFAULT_RUNTIMECLASS'],
    description: 'also create `kata` for the default shim',
    boolean: true,
  },
  {
    key: 'startupTaints',
    flag: '--startup-taints <list>',
    env: ['STARTUP_TAINTS'],
    description: 'taints (key or key:effect) to remove after labelling',
  },
  {
    key: 'hostRoot',
    flag: '--host-root <dir>',
    env: ['HOST_ROOT'],
    description: 'where the host filesystem is mounted (default /)',
  },
  {
    key: 'payload',
    flag: '--payload <path|url>',
    env: ['KATA_PAYLOAD'],
    description: 'kata-static tarball (default /opt/kata-artifacts/kata-static.tar.zst)',
  },
  {
    key: 'payloadSha256',
    flag: '--payload-sha256 <hex>',
    env: ['KATA_PAYLOAD_SHA256'],
    description: 'expected sha256 of the payload',
  },
  {
    key: 'allowUnverifiedPayload',
    flag: '--allow-unverified-payload',
    env: ['KATA_ALLOW_UNVERIFIED_PAYLOAD'],
    description: 'accept a URL payload without a checksum',
    boolean: true,
  },
  {
    key: 'payloadCa',
    flag: '--payload-ca <file>',
    env: ['KATA_PAYLOAD_CA'],
    description: 'PEM CA bundle trusted for https:// payloads (a private mirror)',
  },
  {
    key: 'httpsProxy',
    flag: '--https-proxy <url>',
    env: ['HTTPS_PROXY', 'https_proxy'],
    description: 'proxy for https:// payloads',
  },
  {
    key: 'noProxy',
    flag: '--no-proxy <list>',
    env: ['NO_PROXY', 'no_proxy'],
    description: 'hosts reached without the proxy',
  },
  {
    key: 'requireKvm',
    flag: '--require-kvm <bool>',
    env: ['KATA_REQUIRE_KVM'],
    description: 'refuse to install where KVM is not usable (default true)',
  },
  {
    key: 'requireKvmProof',
    flag: '--require-kvm-proof <bool>',
    env: ['KATA_REQUIRE_KVM_PROOF'],
    description: 'also refuse where /dev/kvm cannot be opened to prove KVM by ioctl (default false)',
  },
  {
    key: 'runtime',
    flag: '--runtime <flavour>',
    env: ['KATA_RUNTIME_FLAVOUR'],
    description:
      'auto | containerd | k3s | k3s-agent | rke2-server | rke2-agent | k0s-worker | k0s-controller | microk8s | crio',
  },
  {
    key: 'containerdConfig',
    flag: '--containerd-config <path>',
    env: ['CONTAINERD_CONFIG'],
    description: 'host path of containerd config (default per flavour)',
  },
  {
    key: 'containerdBinary',
    flag: '--containerd-binary <path>',
    env: ['CONTAINERD_BINARY'],
    description: 'containerd binary that validates configs (default: the one the node runs)',
  },
  {
    key: 'containerdSocket',
    flag: '--containerd-socket <path>',
    env: ['CONTAINERD_SOCKET'],
    description: 'host path of containerd socket (default /run/containerd/containerd.sock)',
  },
  {
    key: 'systemdSocket',
    flag: '--systemd-socket <path>',
    env: ['SYSTEMD_SOCKET'],
    description: "systemd's private D-Bus socket (default /run/systemd/private)",
  },
  {
    key: 'unit',
    flag: '--unit <name>',
    env: ['CONTAINERD_UNIT'],
    description: 'systemd unit to restart (default per flavour)',
  },
  { key: 'restart', flag: '--restart <mode>', env: ['KATA_RESTART'], description: 'auto | systemd | none' },
  {
    key: 'readinessTimeout',
    flag: '--readiness-timeout <seconds>',
    env: ['KATA_READINESS_TIMEOUT'],
    description: 'how long to wait for handlers to be live (default 60)',
  },
  {
    key: 'kubeconfig',
    flag: '--kubeconfig <path>',
    env: ['KUBECONFIG'],
    description: 'kubeconfig for bare-metal runs',
  },
  { key: 'json', flag: '--json', env: [], description: 'print a machine-readable result on stdout', boolean: true },
  {
    key: 'logLevel',
    flag: '--log-level <level>',
    env: ['LOG_LEVEL'],
    description: 'trace | debug | info | warn | error | silent',
  },
  {
    key: 'logFormat',
    flag: '--log-format <format>',
    env: ['LOG_FORMAT'],
    description: 'json | pretty (default: pretty on a TTY)',
  },
  {
    key: 'restartBudget',
    flag: '--restart-budget <n>',
    env: ['KATA_RESTART_BUDGET'],
    description:
      'at most n nodes of the cluster restart their runtime at once (Leases; 0 = unlimited; default: 1 on k3s and ' +
      'rke2 servers, 10 elsewhere)',
  },
  {
    key: 'healthPort',
    flag: '--health-port <port>',
    env: ['HEALTH_PORT'],
    description: 'daemon: port serving /healthz and /readyz (default 8090)',
  },
  {
    key: 'daemonSetName',
    flag: '--daemonset-name <name>',
    env: ['DAEMONSET_NAME'],
    description: 'daemon: our DaemonSet, checked on SIGTERM (default kata-deploy)',
  },
  {
    key: 'podNamespace',
    flag: '--namespace <ns>',
    env: ['POD_NAMESPACE'],
    description: "daemon: the DaemonSet's namespace (default: the pod's)",
  },
  {
    key: 'testFailpoint',
    flag: '--test-failpoint <step>',
    env: ['KATA_DEPLOY_TEST_FAILPOINT'],
    description: 'tests only: SIGKILL this process at the named step boundary',
  },
  { key: 'dryRun', flag: '--dry-run', env: [], description: 'print the plan and diffs, write nothing', boolean: true },
];

/** What the CLI parsed from flags, before validation: strings for value flags, true for switches. */
export type RawFlags = Partial<Record<OptionKey, string | boolean>>;
