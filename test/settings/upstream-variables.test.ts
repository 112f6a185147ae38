import TOML from '@iarna/toml';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Arch } from '../../src/core/arch.js';
import { KataDeployError } from '../../src/core/errors.js';
import { FLAVOUR_LAYOUTS } from '../../src/core/flavours.js';
import { withGuestPull } from '../../src/core/custom-handlers.js';
import { handlersFor } from '../../src/core/handlers.js';
import { crioHandlerTable } from '../../src/crio/crio-plan.js';
import { SHIM_CATALOGUE } from '../../src/core/shims.js';
import { upstreamConfigPath } from '../../src/core/upstream-config-path.js';
import { planKataConfigFiles } from '../../src/payload/index.js';
import { parseSettings } from '../../src/settings/parse-settings.js';
import type { RuntimeFlavour, Settings } from '../../src/settings/settings.js';
import { checkUpstreamNodeFacts, upstreamNodeProblems } from '../../src/wiring/upstream-node-checks.js';
import { NodeHostFs } from '../../src/host/node-host-fs.js';
import { tmpdir } from 'node:os';
// @ts-expect-error plain ESM script without types
import { renderSampleConfig } from '../../scripts/sample-kata-config.mjs';

const SHIMS = 'qemu qemu-runtime-rs qemu-nvidia-gpu qemu-snp';

function parse(env: Record<string, string>, arch: Arch = 'x86_64'): Settings {
  return parseSettings({ env: { SHIMS_X86_64: SHIMS, ...env }, flags: {}, arch });
}

function refusal(env: Record<string, string>): KataDeployError {
  try {
    parse(env);
  } catch (error) {
    expect(error).toBeInstanceOf(KataDeployError);
    expect((error as KataDeployError).exitCode).toBe(2);
    return error as KataDeployError;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be refused`);
}

/** Every config.d file the plan writes for one handler, parsed. */
function dropIns(env: Record<string, string>, handler: string): Map<string, Record<string, unknown>> {
  const settings = parse(env);
  const pristine = (shim: string): Buffer =>
    Buffer.from(renderSampleConfig(SHIM_CATALOGUE.get(shim), 'x86_64') as string);
  const changes = planKataConfigFiles(handlersFor(settings), settings, pristine, () => undefined);
  const out = new Map<string, Record<string, unknown>>();
  for (const change of changes) {
    const dir = path.posix.dirname(handlersFor(settings).find((spec) => spec.name === handler)!.configPath);
    const match = change.path.startsWith(`${dir}/config.d/`) ? /([^/]+)$/.exec(change.path) : null;
    if (match !== null && change.after !== undefined)
      out.set(match[1]!, TOML.parse(change.after.toString()) as Record<string, unknown>);
  }
  return out;
}

describe('settings-level upstream variables: value → setting, or the refusal naming the variable', () => {
  const accepted: [string, Record<string, string>, (settings: Settings) => unknown, unknown][] = [
    [
      'PULL_TYPE_MAPPING_X86_64',
      { PULL_TYPE_MAPPING_X86_64: 'qemu-snp:guest-pull' },
      (s) => [...s.upstream.pullTypeMapping],
      [['qemu-snp', 'guest-pull']],
    ],
    [
      'PULL_TYPE_MAPPING_X86_64 empty is unset',
      { PULL_TYPE_MAPPING_X86_64: '' },
      (s) => s.upstream.pullTypeMapping.size,
      0,
    ],
    [
      'EXPERIMENTAL_FORCE_GUEST_PULL_X86_64',
      { EXPERIMENTAL_FORCE_GUEST_PULL_X86_64: 'qemu, qemu-snp' },
      (s) => s.upstream.forceGuestPull,
      ['qemu', 'qemu-snp'],
    ],
    [
      'NVRC_ENABLE_DCGM',
      { NVRC_ENABLE_DCGM: 'qemu-nvidia-gpu' },
      (s) => s.upstream.nvrcEnableDcgm,
      ['qemu-nvidia-gpu'],
    ],
    [
      'CONTAINERD_CONFIG_FILE_NAME',
      { CONTAINERD_CONFIG_FILE_NAME: '  config.v2.toml ' },
      (s) => s.upstream.containerdConfigFileName,
      'config.v2.toml',
    ],
    [
      'CONTAINERD_CONFIG_FILE_NAME blank',
      { CONTAINERD_CONFIG_FILE_NAME: '   ' },
      (s) => s.upstream.containerdConfigFileName,
      undefined,
    ],
    [
      'CONTAINERD_CONFIG_DIR',
      { CONTAINERD_CONFIG_DIR: '/etc/my-containerd/' },
      (s) => s.upstream.containerdConfigDir,
      '/etc/my-containerd',
    ],
    [
      'CONTAINERD_EXTRA_POD_ANNOTATIONS',
      { CONTAINERD_EXTRA_POD_ANNOTATIONS: 'a.example/x, b.example/*' },
      (s) => s.upstream.extraPodAnnotations,
      ['a.example/x', 'b.example/*'],
    ],
    [
      'CONTAINERD_SHIM_EXTRA_POD_ANNOTATIONS_X86_64',
      {
        CONTAINERD_SHIM_EXTRA_POD_ANNOTATIONS_X86_64: 'qemu:p1,p2 qemu-snp:p3',
      },
      (s) => [...s.upstream.shimExtraPodAnnotations],
      [
        ['qemu', ['p1', 'p2']],
        ['qemu-snp', ['p3']],
      ],
    ],
    ['K8S_DISTRIBUTION', { K8S_DISTRIBUTION: 'k3s' }, (s) => s.upstream.k8sDistribution, 'k3s'],
    [
      'NODE_MACHINE_ID',
      { NODE_MACHINE_ID: 'ABCDEF0123456789abcdef0123456789' },
      (s) => s.upstream.nodeMachineId,
      'abcdef0123456789abcdef0123456789',
    ],
    [
      'CONTAINER_RUNTIME_VERSION',
      { CONTAINER_RUNTIME_VERSION: 'containerd://1.7.28' },
      (s) => s.upstream.containerRuntimeVersion,
      'containerd://1.7.28',
    ],
    ['HELM_POST_DELETE_HOOK', { HELM_POST_DELETE_HOOK: 'true' }, (s) => s.upstream.helmPostDeleteHook, true],
    ['RUST_LOG bare level', { RUST_LOG: 'debug' }, (s) => s.logLevel, 'debug'],
    ['RUST_LOG crate level', { RUST_LOG: 'hyper=warn,kata_deploy=trace' }, (s) => s.logLevel, 'trace'],
    ['RUST_LOG off', { RUST_LOG: 'off' }, (s) => s.logLevel, 'silent'],
    ['LOG_LEVEL wins over RUST_LOG', { RUST_LOG: 'trace', LOG_LEVEL: 'warn' }, (s) => s.logLevel, 'warn'],
    [
      'DEVKIT without DEBUG is ignored with a notice',
      { DEVKIT: 'true' },
      (s) => s.upstream.notices.some((n) => n.startsWith('DEVKIT=true ignored')),
      true,
    ],
    [
      'EXPERIMENTAL_SETUP_SNAPSHOTTER=nydus, no handler on nydus',
      { EXPERIMENTAL_SETUP_SNAPSHOTTER: 'nydus' },
      (s) => s.upstream.notices.some((n) => n.includes('nothing to set up')),
      true,
    ],
    [
      'EROFS_MERGE_MODE is noticed',
      { EROFS_MERGE_MODE: 'merged' },
      (s) => s.upstream.notices.some((n) => n.startsWith('EROFS_MERGE_MODE=merged has no effect')),
      true,
    ],
    [
      'SNAPSHOTTER_HANDLER_MAPPING_X86_64 nydus → upstream proxy plugin, variants too',
      { SNAPSHOTTER_HANDLER_MAPPING_X86_64: 'qemu:nydus,qemu-snp:overlayfs', DEBUG: 'true' },
      (s) => handlersFor(s).map((handler) => [handler.name, handler.snapshotter]),
      [
        ['kata-qemu', 'nydus-for-kata-tee'],
        ['kata-qemu-debug', 'nydus-for-kata-tee'],
        ['kata-qemu-runtime-rs', undefined],
        ['kata-qemu-runtime-rs-debug', undefined],
        ['kata-qemu-nvidia-gpu', undefined],
        ['kata-qemu-nvidia-gpu-debug', undefined],
        ['kata-qemu-snp', 'overlayfs'],
        ['kata-qemu-snp-debug', 'overlayfs'],
      ],
    ],
    [
      'SNAPSHOTTER_HANDLER_MAPPING_X86_64 nydus with MULTI_INSTALL_SUFFIX',
      { SNAPSHOTTER_HANDLER_MAPPING_X86_64: 'qemu:nydus', MULTI_INSTALL_SUFFIX: 'beta' },
      (s) => handlersFor(s).find((handler) => handler.name === 'kata-qemu-beta')?.snapshotter,
      'nydus-for-kata-tee-beta',
    ],
    [
      'SNAPSHOTTER_HANDLER_MAPPING_X86_64 nydus names the proxy plugin to register',
      { SNAPSHOTTER_HANDLER_MAPPING_X86_64: 'qemu:nydus' },
      (s) => s.upstream.notices.some((n) => n.includes('proxy plugin nydus-for-kata-tee[-<MULTI_INSTALL_SUFFIX>]')),
      true,
    ],
    [
      'DEVKIT with DEBUG: a -devkit debug variant per shim, after -debug (upstream N15)',
      { SHIMS_X86_64: 'qemu clh', DEVKIT: 'true', DEBUG: 'true' },
      (s) => handlersFor(s).map((handler) => [handler.name, handler.debug, handler.devkit === true]),
      [
        ['kata-qemu', false, false],
        ['kata-qemu-debug', true, false],
        ['kata-qemu-devkit', true, true],
        ['kata-clh', false, false],
        ['kata-clh-debug', true, false],
        ['kata-clh-devkit', true, true],
      ],
    ],
    [
      'DEVKIT with DEBUG and MULTI_INSTALL_SUFFIX, inheriting the snapshotter',
      {
        SHIMS_X86_64: 'qemu',
        DEVKIT: 'true',
        DEBUG: 'true',
        MULTI_INSTALL_SUFFIX: 'dev',
        SNAPSHOTTER_HANDLER_MAPPING_X86_64: 'qemu:erofs',
      },
      (s) => handlersFor(s).map((handler) => [handler.name, handler.snapshotter, handler.configPath]),
      [
        [
          'kata-qemu-dev',
          'erofs',
          '/opt/kata-dev/share/defaults/kata-containers/runtimes/qemu/configuration-qemu.toml',
        ],
        [
          'kata-qemu-dev-debug',
          'erofs',
          '/opt/kata-dev/share/defaults/kata-containers/custom-runtimes/kata-qemu-dev-debug/configuration-qemu.toml',
        ],
        [
          'kata-qemu-dev-devkit',
          'erofs',
          '/opt/kata-dev/share/defaults/kata-containers/custom-runtimes/kata-qemu-dev-devkit/configuration-qemu.toml',
        ],
      ],
    ],
    [
      'DEVKIT without DEBUG adds no handler',
      { SHIMS_X86_64: 'qemu', DEVKIT: 'true' },
      (s) => handlersFor(s).map((handler) => handler.name),
      ['kata-qemu'],
    ],
    ['HOST_OS is read by nobody', { HOST_OS: 'cbl-mariner' }, (s) => s.upstream.notices, []],
    ['DEBUG=true', { DEBUG: 'true' }, (s) => s.debug, true],
    [
      'CUSTOM_RUNTIMES_ENABLED without the list mounted',
      { CUSTOM_RUNTIMES_ENABLED: 'true' },
      (s) => s.upstream.notices.some((n) => n.includes('custom-runtimes.list is absent')),
      true,
    ],
    [
      'RUNTIMECLASS_OVERHEAD_X86_64',
      { RUNTIMECLASS_OVERHEAD_X86_64: 'kata-qemu:memory=640Mi' },
      (s) => [...s.upstream.runtimeClassOverhead],
      [['kata-qemu', { memory: '640Mi', cpu: undefined }]],
    ],
  ];
  it.each(accepted)('%s', (_name, env, read, expected) => {
    expect(read(parse(env))).toEqual(expected);
  });

  const refused: [string, Record<string, string>, string][] = [
    [
      'PULL_TYPE_MAPPING_X86_64 unknown type',
      { PULL_TYPE_MAPPING_X86_64: 'qemu:node-pull' },
      'PULL_TYPE_MAPPING_X86_64',
    ],
    [
      'PULL_TYPE_MAPPING_X86_64 unselected shim',
      { PULL_TYPE_MAPPING_X86_64: 'fc:guest-pull' },
      'PULL_TYPE_MAPPING_X86_64',
    ],
    [
      'EXPERIMENTAL_FORCE_GUEST_PULL_X86_64 unselected shim',
      { EXPERIMENTAL_FORCE_GUEST_PULL_X86_64: 'clh' },
      'EXPERIMENTAL_FORCE_GUEST_PULL_X86_64',
    ],
    ['NVRC_ENABLE_DCGM on a shim without GPU', { NVRC_ENABLE_DCGM: 'qemu' }, 'NVRC_ENABLE_DCGM'],
    [
      'CONTAINERD_CONFIG_FILE_NAME ../etc/shadow',
      { CONTAINERD_CONFIG_FILE_NAME: '../etc/shadow' },
      'CONTAINERD_CONFIG_FILE_NAME',
    ],
    [
      'CONTAINERD_CONFIG_FILE_NAME subdir',
      { CONTAINERD_CONFIG_FILE_NAME: 'subdir/config.toml' },
      'CONTAINERD_CONFIG_FILE_NAME',
    ],
    ['CONTAINERD_CONFIG_FILE_NAME ..', { CONTAINERD_CONFIG_FILE_NAME: '..' }, 'CONTAINERD_CONFIG_FILE_NAME'],
    ['CONTAINERD_CONFIG_FILE_NAME .', { CONTAINERD_CONFIG_FILE_NAME: '.' }, 'CONTAINERD_CONFIG_FILE_NAME'],
    ['CONTAINERD_CONFIG_DIR relative', { CONTAINERD_CONFIG_DIR: 'etc/containerd' }, 'CONTAINERD_CONFIG_DIR'],
    [
      'CONTAINERD_SHIM_EXTRA_POD_ANNOTATIONS_X86_64 bare',
      { CONTAINERD_SHIM_EXTRA_POD_ANNOTATIONS_X86_64: 'p1' },
      'CONTAINERD_SHIM_EXTRA_POD_ANNOTATIONS_X86_64',
    ],
    ['K8S_DISTRIBUTION unknown', { K8S_DISTRIBUTION: 'openshift' }, 'K8S_DISTRIBUTION'],
    ['NODE_MACHINE_ID not an ID', { NODE_MACHINE_ID: 'node-1' }, 'NODE_MACHINE_ID'],
    ['HELM_POST_DELETE_HOOK not a boolean', { HELM_POST_DELETE_HOOK: 'maybe' }, 'HELM_POST_DELETE_HOOK'],
    [
      'EXPERIMENTAL_SETUP_SNAPSHOTTER=erofs',
      { EXPERIMENTAL_SETUP_SNAPSHOTTER: 'nydus,erofs' },
      'EXPERIMENTAL_SETUP_SNAPSHOTTER',
    ],
    ['ROOTLESS_X86_64', { ROOTLESS_X86_64: 'qemu-runtime-rs' }, 'ROOTLESS_X86_64'],
    [
      'CONTAINERD_USER_DROP_IN_SOURCE_FILE that does not exist',
      { CONTAINERD_USER_DROP_IN_SOURCE_FILE: '/custom-configs/user.toml' },
      'CONTAINERD_USER_DROP_IN_SOURCE_FILE: /custom-configs/user.toml does not exist',
    ],
    [
      'CONTAINERD_USER_DROP_IN_SOURCE_FILE relative',
      { CONTAINERD_USER_DROP_IN_SOURCE_FILE: 'user.toml' },
      'CONTAINERD_USER_DROP_IN_SOURCE_FILE: "user.toml" is not an absolute, normalised path',
    ],
    ['DEVKIT not a boolean', { DEVKIT: 'maybe', DEBUG: 'true' }, 'DEVKIT'],
    ['MULTI_INSTALL_SUFFIX ending in devkit', { MULTI_INSTALL_SUFFIX: 'x-devkit' }, 'devkit handlers'],
    ['SHIMS_X86_64 shim of another arch', { SHIMS_X86_64: 'qemu qemu-se' }, 'SHIMS_X86_64'],
    ['DEFAULT_SHIM_X86_64 not selected', { DEFAULT_SHIM_X86_64: 'clh' }, 'DEFAULT_SHIM_X86_64'],
    [
      'ALLOWED_HYPERVISOR_ANNOTATIONS_X86_64 unselected shim',
      { ALLOWED_HYPERVISOR_ANNOTATIONS_X86_64: 'fc:path' },
      'ALLOWED_HYPERVISOR_ANNOTATIONS_X86_64',
    ],
    [
      'SNAPSHOTTER_HANDLER_MAPPING_X86_64 unselected shim',
      { SNAPSHOTTER_HANDLER_MAPPING_X86_64: 'fc:devmapper' },
      'SNAPSHOTTER_HANDLER_MAPPING_X86_64',
    ],
    ['AGENT_HTTPS_PROXY unselected shim', { AGENT_HTTPS_PROXY: 'fc=http://p:3128' }, 'AGENT_HTTPS_PROXY'],
    ['AGENT_NO_PROXY unselected shim', { AGENT_NO_PROXY: 'fc=10.0.0.0/8' }, 'AGENT_NO_PROXY'],
    ['INSTALLATION_PREFIX relative', { INSTALLATION_PREFIX: 'opt/x' }, 'INSTALLATION_PREFIX'],
    ['MULTI_INSTALL_SUFFIX ../escape', { MULTI_INSTALL_SUFFIX: '../escape' }, 'MULTI_INSTALL_SUFFIX'],
    ['HEALTH_PORT not a port', { HEALTH_PORT: '99999' }, 'HEALTH_PORT'],
    ['DAEMONSET_NAME not a name', { DAEMONSET_NAME: 'Kata_Deploy' }, 'DAEMONSET_NAME'],
  ];
  it.each(refused)('refuses %s', (_name, env, variable) => {
    expect(refusal(env).message).toContain(variable);
  });
});

describe('CONTAINERD_USER_DROP_IN_SOURCE_FILE: read from this container, kept verbatim', () => {
  const bytes = Buffer.from('version = 3\n# kept\n');
  const withFile = (env: Record<string, string>) =>
    parseSettings({
      env: { SHIMS_X86_64: SHIMS, ...env },
      flags: {},
      arch: 'x86_64',
      readContainerFile: (file) =>
        file === '/custom-containerd-config/containerd-user-dropin.toml' ? bytes : undefined,
    });

  it('reads the named file once, bytes as they are', () => {
    const settings = withFile({
      CONTAINERD_USER_DROP_IN_SOURCE_FILE: ' /custom-containerd-config/containerd-user-dropin.toml ',
    });
    expect(settings.upstream.containerdUserDropIn).toEqual({
      source: '/custom-containerd-config/containerd-user-dropin.toml',
      bytes,
    });
  });

  it('is unset when empty, as upstream', () => {
    expect(withFile({ CONTAINERD_USER_DROP_IN_SOURCE_FILE: '  ' }).upstream.containerdUserDropIn).toBeUndefined();
  });
});

describe('plan-level upstream variables: value → the Kata config drop-in', () => {
  it('EXPERIMENTAL_FORCE_GUEST_PULL_X86_64 sets runtime.experimental_force_guest_pull for that shim only', () => {
    const env = { EXPERIMENTAL_FORCE_GUEST_PULL_X86_64: 'qemu-snp' };
    expect(dropIns(env, 'kata-qemu-snp').get('50-force-guest-pull.toml')).toEqual({
      runtime: { experimental_force_guest_pull: true },
    });
    expect(dropIns(env, 'kata-qemu').has('50-force-guest-pull.toml')).toBe(false);
  });

  it('NVRC_ENABLE_DCGM adds nvrc.dcgm=on to the shipped kernel_params', () => {
    const files = dropIns({ NVRC_ENABLE_DCGM: 'qemu-nvidia-gpu' }, 'kata-qemu-nvidia-gpu');
    const hypervisor = (files.get('35-nvrc-dcgm.toml')?.hypervisor ?? {}) as Record<string, Record<string, string>>;
    expect(hypervisor.qemu?.kernel_params).toBe('pci=realloc nvidia.NVreg_EnableGpuFirmware=1 nvrc.dcgm=on');
  });

  it('AGENT_HTTPS_PROXY and NVRC_ENABLE_DCGM accumulate in kernel_params (a later drop-in replaces the key)', () => {
    const env = { NVRC_ENABLE_DCGM: 'qemu-nvidia-gpu', AGENT_HTTPS_PROXY: 'http://p:3128' };
    const files = dropIns(env, 'kata-qemu-nvidia-gpu');
    const hypervisor = (files.get('35-nvrc-dcgm.toml')?.hypervisor ?? {}) as Record<string, Record<string, string>>;
    expect(hypervisor.qemu?.kernel_params).toContain('agent.https_proxy=http://p:3128 nvrc.dcgm=on');
  });
});

describe('config path variables: value → the runtime config planned', () => {
  it.each([
    ['containerd', undefined, undefined, '/etc/containerd/config.toml'],
    ['containerd', undefined, 'my-config.toml', '/etc/containerd/my-config.toml'],
    ['containerd', '/etc/my-containerd', undefined, '/etc/my-containerd/config.toml'],
    ['containerd', '/etc/my-containerd', 'c.toml', '/etc/my-containerd/c.toml'],
    ['k3s', undefined, 'my-config.toml', '/var/lib/rancher/k3s/agent/etc/containerd/config.toml'],
    ['k3s', '/srv/k3s-containerd', undefined, '/srv/k3s-containerd/config.toml'],
    ['crio', '/etc/elsewhere', 'x.toml', '/etc/crio/crio.conf'],
  ] as const)('%s with dir %s and name %s → %s', (flavour, dir, name, expected) => {
    expect(upstreamConfigPath(FLAVOUR_LAYOUTS[flavour], dir, name)).toBe(expected);
  });
});

describe('node cross-checks: K8S_DISTRIBUTION, CONTAINER_RUNTIME_VERSION, NODE_MACHINE_ID', () => {
  const problems = (env: Record<string, string>, flavour: RuntimeFlavour, version?: string, id?: string): string[] =>
    upstreamNodeProblems(parse(env).upstream, { runtime: { flavour, daemonVersion: version } as never }, id);

  it.each([
    ['k8s', 'containerd'],
    ['k8s', 'crio'],
    ['k3s', 'k3s'],
    ['k3s', 'k3s-agent'],
    ['rke2', 'rke2-agent'],
    ['k0s', 'k0s-worker'],
    ['microk8s', 'microk8s'],
    ['kubeadm', 'containerd'],
  ] as const)('accepts K8S_DISTRIBUTION=%s on %s', (declared, flavour) => {
    expect(problems({ K8S_DISTRIBUTION: declared }, flavour)).toEqual([]);
  });

  it('accepts any flavour when K8S_DISTRIBUTION is unset', () => {
    expect(problems({}, 'k3s')).toEqual([]);
  });

  it.each([
    ['k8s', 'k3s', 'k3s'],
    ['k3s', 'containerd', 'k8s'],
    ['k3s', 'rke2-agent', 'rke2'],
    ['vanilla', 'k3s', 'k3s'],
  ] as const)('refuses K8S_DISTRIBUTION=%s on %s, naming %s as the value to set', (declared, flavour, fix) => {
    expect(problems({ K8S_DISTRIBUTION: declared }, flavour)).toEqual([
      `K8S_DISTRIBUTION=${declared} but this node runs ${flavour}; set K8S_DISTRIBUTION=${fix}`,
    ]);
  });

  it('skips the distribution check when CONTAINERD_CONFIG_DIR pins the directory', () => {
    expect(problems({ K8S_DISTRIBUTION: 'k8s', CONTAINERD_CONFIG_DIR: '/etc/k3s-c' }, 'k3s')).toEqual([]);
  });

  it('compares CONTAINER_RUNTIME_VERSION with the daemon, whatever the scheme prefix', () => {
    expect(problems({ CONTAINER_RUNTIME_VERSION: 'containerd://1.7.28' }, 'containerd', '1.7.28')).toEqual([]);
    expect(problems({ CONTAINER_RUNTIME_VERSION: 'containerd://1.7.28' }, 'containerd', 'v2.1.4')[0]).toContain(
      "CONTAINER_RUNTIME_VERSION=containerd://1.7.28 but this node's containerd is v2.1.4",
    );
  });

  it('refuses when /etc/machine-id is not NODE_MACHINE_ID, and passes when it is', () => {
    const id = '0123456789abcdef0123456789abcdef';
    expect(problems({ NODE_MACHINE_ID: id }, 'containerd', undefined, id)).toEqual([]);
    expect(problems({ NODE_MACHINE_ID: id }, 'containerd', undefined, 'f'.repeat(32))[0]).toContain('NODE_MACHINE_ID');
    expect(problems({ NODE_MACHINE_ID: id }, 'containerd', undefined, undefined)[0]).toContain('absent');
  });
});

describe('SNAPSHOTTER_HANDLER_MAPPING needs containerd 1.7 or newer (upstream N05)', () => {
  const upstream = parse({}).upstream;
  const problems = (version: string, mapped: boolean) =>
    upstreamNodeProblems(
      upstream,
      { runtime: { flavour: 'containerd', daemonVersion: version } as never },
      undefined,
      mapped ? 'SNAPSHOTTER_HANDLER_MAPPING' : undefined,
    );

  it.each(['1.6.0', '1.6.28', '1.6.999', 'containerd://1.6.28', 'v1.6.28'])('refuses a mapping on %s', (version) => {
    expect(problems(version, true)[0]).toContain(
      'kata-deploy only supports snapshotter configuration with containerd 1.7 or newer',
    );
  });

  it.each(['1.7.0', '1.7.15', '1.8.0', '2.0.0'])('accepts a mapping on %s', (version) => {
    expect(problems(version, true)).toEqual([]);
  });

  it('accepts containerd 1.6 without a mapping', () => {
    expect(problems('1.6.28', false)).toEqual([]);
  });

  it("refuses a custom runtime's snapshotter on 1.6 too, naming custom-runtimes.list and the handler", async () => {
    const withCustom = (snapshotter: string | undefined) => ({
      snapshotterHandlerMapping: new Map<string, string>(),
      upstream: {
        ...upstream,
        customRuntimes: [
          { handler: 'kata-tee', baseShim: 'qemu', snapshotter, crioPullType: undefined, dropIn: undefined },
        ],
      },
    });
    const node = { runtime: { flavour: 'containerd', daemonVersion: '1.6.20' } as never };
    const fs = new NodeHostFs(tmpdir());
    await expect(checkUpstreamNodeFacts(withCustom('nydus'), node, fs)).rejects.toThrow(
      'custom-runtimes.list (kata-tee): kata-deploy only supports snapshotter configuration with containerd 1.7',
    );
    await expect(checkUpstreamNodeFacts(withCustom(undefined), node, fs)).resolves.toBeUndefined();
  });
});

describe('PULL_TYPE_MAPPING on CRI-O: guest-pull handlers get runtime_pull_image', () => {
  it('sets runtime_pull_image = true for the mapped shim and its debug variant only', () => {
    const settings = parse({ PULL_TYPE_MAPPING_X86_64: 'qemu-snp:guest-pull', DEBUG: 'true' });
    const handlers = withGuestPull(handlersFor(settings), settings.upstream.pullTypeMapping);
    const tables = new Map(handlers.map((handler) => [handler.name, crioHandlerTable(handler).entries]));
    expect(tables.get('kata-qemu-snp')).toContainEqual(['runtime_pull_image', true]);
    expect(tables.get('kata-qemu-snp-debug')).toContainEqual(['runtime_pull_image', true]);
    expect(tables.get('kata-qemu')?.some(([key]) => key === 'runtime_pull_image')).toBe(false);
  });
});
