import { describe, expect, it } from 'vitest';
import { DEFAULT_SHIMS } from '../../src/core/shims.js';
import { KataDeployError } from '../../src/core/errors.js';
import { DEFAULT_PAYLOAD, parseSettings, type SettingsInput } from '../../src/settings/parse-settings.js';
import type { RawFlags } from '../../src/settings/options.js';
import type { Arch } from '../../src/core/arch.js';

function parse(env: Record<string, string> = {}, flags: RawFlags = {}, arch: Arch = 'x86_64') {
  const input: SettingsInput = { env, flags, arch };
  return parseSettings(input);
}

function usageError(env: Record<string, string>, flags: RawFlags = {}, arch: Arch = 'x86_64'): KataDeployError {
  try {
    parse(env, flags, arch);
  } catch (error) {
    expect(error).toBeInstanceOf(KataDeployError);
    expect((error as KataDeployError).exitCode).toBe(2);
    return error as KataDeployError;
  }
  throw new Error('expected a settings error');
}

describe('parseSettings defaults', () => {
  it('uses upstream per-arch shim lists and qemu-runtime-rs as the default shim', () => {
    for (const arch of ['x86_64', 'aarch64', 'ppc64le', 's390x'] as const) {
      const settings = parse({}, {}, arch);
      expect(settings.shims).toEqual(DEFAULT_SHIMS[arch]);
      expect(settings.defaultShim).toBe('qemu-runtime-rs');
    }
    expect(parse({}, {}, 'ppc64le').shims).toEqual(['qemu', 'qemu-runtime-rs']);
  });

  it('installs to /opt/kata on the real root with the documented sockets and payload', () => {
    const settings = parse();
    expect(settings).toMatchObject({
      installDir: '/opt/kata',
      hostRoot: '/',
      payload: DEFAULT_PAYLOAD,
      debug: false,
      restart: 'auto',
      containerdSocket: '/run/containerd/containerd.sock',
      systemdSocket: '/run/systemd/private',
      runtime: undefined,
      readinessTimeoutMs: 60_000,
      logLevel: 'info',
      createRuntimeClasses: false,
    });
    expect(Object.isFrozen(settings)).toBe(true);
  });
});

describe('per-arch precedence', () => {
  it('prefers SHIMS_<ARCH> over SHIMS, and the flag over both', () => {
    expect(parse({ SHIMS: 'qemu fc', SHIMS_X86_64: 'clh qemu' }).shims).toEqual(['clh', 'qemu']);
    expect(parse({ SHIMS: 'qemu fc' }).shims).toEqual(['qemu', 'fc']);
    expect(parse({ SHIMS_X86_64: 'clh qemu' }, { shims: 'fc' }).shims).toEqual(['fc']);
  });

  it('ignores another arch’s variables', () => {
    expect(parse({ SHIMS_AARCH64: 'fc', DEFAULT_SHIM_AARCH64: 'fc' }).defaultShim).toBe('qemu-runtime-rs');
    expect(parse({ SHIMS_S390X: 'qemu-se' }, {}, 's390x').shims).toEqual(['qemu-se']);
  });

  it('prefers DEFAULT_SHIM_<ARCH> over DEFAULT_SHIM', () => {
    expect(parse({ SHIMS: 'qemu fc clh', DEFAULT_SHIM: 'fc', DEFAULT_SHIM_X86_64: 'clh' }).defaultShim).toBe('clh');
    expect(parse({ SHIMS: 'qemu fc clh', DEFAULT_SHIM: 'fc' }).defaultShim).toBe('fc');
  });

  it('falls back to the first shim when qemu is not selected and no default is given', () => {
    expect(parse({ SHIMS: 'fc clh' }).defaultShim).toBe('fc');
  });

  it('reads per-arch annotations and snapshotter mappings', () => {
    const settings = parse({
      SHIMS_X86_64: 'qemu fc',
      ALLOWED_HYPERVISOR_ANNOTATIONS_X86_64: 'default_vcpus fc:default_memory',
      SNAPSHOTTER_HANDLER_MAPPING_X86_64: 'fc:devmapper, qemu:nydus',
    });
    expect(settings.allowedHypervisorAnnotations.globalList).toEqual(['default_vcpus']);
    expect(settings.allowedHypervisorAnnotations.perShim.get('fc')).toBe('default_memory');
    expect([...settings.snapshotterHandlerMapping]).toEqual([
      ['fc', 'devmapper'],
      ['qemu', 'nydus'],
    ]);
  });
});

describe('every variable', () => {
  it('reads the upstream names and ours', () => {
    const settings = parse({
      NODE_NAME: 'worker-1',
      SHIMS: 'qemu clh',
      DEBUG: 'true',
      INSTALLATION_PREFIX: '/usr/local/',
      MULTI_INSTALL_SUFFIX: 'dev',
      AGENT_HTTPS_PROXY: 'http://proxy:3128',
      AGENT_NO_PROXY: 'qemu=10.0.0.0/8;clh=localhost',
      CREATE_RUNTIMECLASSES: 'true',
      CREATE_DEFAULT_RUNTIMECLASS: 'TRUE',
      STARTUP_TAINTS: 'kata:NoSchedule,other',
      HOST_ROOT: '/host',
      KATA_PAYLOAD: 'https://example.test/kata.tar.zst',
      KATA_PAYLOAD_SHA256: 'A'.repeat(64),
      KATA_RUNTIME_FLAVOUR: 'k3s-agent',
      CONTAINERD_CONFIG: '/etc/containerd/other.toml',
      CONTAINERD_SOCKET: '/run/k3s/containerd/containerd.sock',
      SYSTEMD_SOCKET: '/run/systemd/private2',
      CONTAINERD_UNIT: 'k3s-agent.service',
      KATA_RESTART: 'none',
      KATA_READINESS_TIMEOUT: '12.5',
      KUBECONFIG: '/root/.kube/config',
      LOG_LEVEL: 'debug',
      LOG_FORMAT: 'json',
      KATA_ALLOW_UNVERIFIED_PAYLOAD: 'yes',
    });
    expect(settings).toMatchObject({
      nodeName: 'worker-1',
      shims: ['qemu', 'clh'],
      debug: true,
      installationPrefix: '/usr/local',
      multiInstallSuffix: 'dev',
      installDir: '/usr/local/opt/kata-dev',
      createRuntimeClasses: true,
      createDefaultRuntimeClass: true,
      startupTaints: ['kata:NoSchedule', 'other'],
      hostRoot: '/host',
      payload: 'https://example.test/kata.tar.zst',
      payloadSha256: 'a'.repeat(64),
      runtime: 'k3s-agent',
      containerdConfig: '/etc/containerd/other.toml',
      containerdSocket: '/run/k3s/containerd/containerd.sock',
      systemdSocket: '/run/systemd/private2',
      unit: 'k3s-agent.service',
      restart: 'none',
      readinessTimeoutMs: 12_500,
      kubeconfig: '/root/.kube/config',
      logLevel: 'debug',
      logFormat: 'json',
      allowUnverifiedPayload: true,
    });
    expect(settings.agentHttpsProxy.global).toBe('http://proxy:3128');
    expect([...settings.agentNoProxy.perShim]).toEqual([
      ['qemu', '10.0.0.0/8'],
      ['clh', 'localhost'],
    ]);
  });

  it('treats --runtime auto and empty variables as unset', () => {
    expect(parse({ KATA_RUNTIME_FLAVOUR: 'auto', SHIMS_X86_64: '  ', NODE_NAME: '' }).runtime).toBeUndefined();
    expect(parse({ SHIMS_X86_64: '' }).shims).toEqual(DEFAULT_SHIMS.x86_64);
  });
});

describe('settings errors name the variable and the accepted values', () => {
  it.each([
    [{ SHIMS_X86_64: 'qemu bogus' }, 'SHIMS_X86_64', 'unknown shim "bogus"'],
    [{ SHIMS: 'qemu-se' }, 'SHIMS', 'does not exist for x86_64'],
    [{ SHIMS: 'qemu qemu' }, 'SHIMS', 'listed twice'],
    [{ SHIMS: 'qemu fc', DEFAULT_SHIM_X86_64: 'clh' }, 'DEFAULT_SHIM_X86_64', 'not among the selected shims'],
    [{ INSTALLATION_PREFIX: 'opt/custom' }, 'INSTALLATION_PREFIX', 'not an absolute path'],
    [{ INSTALLATION_PREFIX: '/opt/../etc' }, 'INSTALLATION_PREFIX', 'contains ".."'],
    [{ MULTI_INSTALL_SUFFIX: 'Dev_1' }, 'MULTI_INSTALL_SUFFIX', 'cannot be used'],
    [{ MULTI_INSTALL_SUFFIX: 'a/b' }, 'MULTI_INSTALL_SUFFIX', 'cannot be used'],
    [{ DEBUG: 'maybe' }, 'DEBUG', 'not a boolean'],
    [{ SNAPSHOTTER_HANDLER_MAPPING_X86_64: 'qemu=nydus' }, 'SNAPSHOTTER_HANDLER_MAPPING_X86_64', 'malformed entry'],
    [{ SHIMS: 'qemu', SNAPSHOTTER_HANDLER_MAPPING: 'fc:nydus' }, 'SNAPSHOTTER_HANDLER_MAPPING', 'not selected'],
    [{ SHIMS: 'qemu', AGENT_HTTPS_PROXY: 'fc=http://p' }, 'AGENT_HTTPS_PROXY', 'not selected'],
    [
      { SHIMS: 'qemu', ALLOWED_HYPERVISOR_ANNOTATIONS: 'fc:default_vcpus' },
      'ALLOWED_HYPERVISOR_ANNOTATIONS',
      'not selected',
    ],
    [{ KATA_PAYLOAD_SHA256: 'abc' }, 'KATA_PAYLOAD_SHA256', 'not a sha256'],
    [{ KATA_RUNTIME_FLAVOUR: 'docker' }, 'KATA_RUNTIME_FLAVOUR', 'not valid'],
    [{ KATA_RESTART: 'sometimes' }, 'KATA_RESTART', 'not valid'],
    [{ KATA_READINESS_TIMEOUT: '-1' }, 'KATA_READINESS_TIMEOUT', 'not a timeout'],
    [{ HOST_ROOT: 'host' }, 'HOST_ROOT', 'not an absolute path'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL', 'not valid'],
  ])('%o is refused naming %s', (env, variable, problem) => {
    const error = usageError(env as Record<string, string>);
    expect(error.message).toContain(variable);
    expect(error.message).toContain(problem);
    expect(error.hint).toMatch(/^accepted: ./);
  });

  it('names the flag when the flag is at fault', () => {
    const error = usageError({}, { shims: 'nope' });
    expect(error.message).toContain('--shims');
  });

  it('lists the shims available on the arch when a shim is unknown', () => {
    expect(usageError({ SHIMS: 'fc' }, {}, 'ppc64le').hint).toContain('qemu');
  });
});

describe('DEBUG', () => {
  it('turns on debug logging unless a log level is given', () => {
    expect(parse({ DEBUG: 'true' }).logLevel).toBe('debug');
    expect(parse({ DEBUG: 'true', LOG_LEVEL: 'warn' }).logLevel).toBe('warn');
  });
});

describe('daemon settings', () => {
  it('reads the health port, DaemonSet name and namespace the manifest sets', () => {
    expect(
      parse({ HEALTH_PORT: '9000', DAEMONSET_NAME: 'kata-deploy-dev', POD_NAMESPACE: 'kube-system' }),
    ).toMatchObject({ healthPort: 9000, daemonSetName: 'kata-deploy-dev', podNamespace: 'kube-system' });
    expect(parse()).toMatchObject({ healthPort: 8090, daemonSetName: 'kata-deploy', podNamespace: undefined });
  });

  it.each([
    [{ HEALTH_PORT: '70000' }, 'HEALTH_PORT'],
    [{ DAEMONSET_NAME: 'Kata_Deploy' }, 'DAEMONSET_NAME'],
  ])('refuses %o', (env, name) => {
    expect(() => parse(env as Record<string, string>)).toThrow(name);
  });
});

describe('boolean variables', () => {
  it.each([
    ['DEBUG', 'debug', false],
    ['CREATE_RUNTIMECLASSES', 'createRuntimeClasses', false],
    ['CREATE_DEFAULT_RUNTIMECLASS', 'createDefaultRuntimeClass', false],
    ['KATA_ALLOW_UNVERIFIED_PAYLOAD', 'allowUnverifiedPayload', false],
    ['KATA_REQUIRE_KVM', 'requireKvm', true],
    ['KATA_REQUIRE_KVM_PROOF', 'requireKvmProof', false],
  ] as const)('%s=false and =true set %s, and unset keeps the default %s', (name, key, fallback) => {
    expect(parse({ [name]: 'false' })[key]).toBe(false);
    expect(parse({ [name]: 'true' })[key]).toBe(true);
    expect(parse({})[key]).toBe(fallback);
  });

  it('lets the flag win over the variable', () => {
    expect(parse({ DEBUG: 'true' }, { debug: false }).debug).toBe(false);
    expect(parse({ DEBUG: 'false' }, { debug: true }).debug).toBe(true);
  });
});
