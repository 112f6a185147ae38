import { describe, expect, it } from 'vitest';
import { StandinPod } from '../helpers/kubelet-standin.js';
import { boundingSet, RUNTIME_DEFAULT_CAPABILITIES } from '../helpers/kubelet/capabilities.js';
import { UnsupportedManifestField } from '../helpers/kubelet/known-fields.js';
import { daemonSetOf, readManifest } from '../helpers/kubelet/manifest.js';
import { type ImageConfig, type PodContext, planPod } from '../helpers/kubelet/pod-plan.js';

const IMAGE: ImageConfig = {
  root: '/var/lib/images/kata-deploy',
  entrypoint: ['kata-deploy', 'daemon'],
  cmd: [],
  env: { KATA_PAYLOAD: '/opt/kata-artifacts/kata-static.tar.zst', HOST_ROOT: '/image-default', NODE_ENV: 'production' },
};
const CONTEXT: PodContext = {
  nodeName: 'worker-1',
  podName: 'kata-deploy-abcde',
  podUid: 'uid-1',
  image: IMAGE,
  apiHost: '127.0.0.1',
  apiPort: 6443,
};

const rendered = () => daemonSetOf(readManifest());
const container = (ds: ReturnType<typeof rendered>) => ds.spec.template.spec.containers[0];

describe('the kubelet stand-in reads the rendered daemonset.yaml', () => {
  const plan = planPod(rendered(), CONTEXT);
  const env = new Map(plan.env);

  it('runs the image entrypoint, as the manifest sets no command', () => {
    expect(container(rendered()).command).toBeUndefined();
    expect(plan.argv).toEqual(['kata-deploy', 'daemon']);
  });

  it('resolves fieldRefs and lets the container env override the image env', () => {
    expect(env.get('NODE_NAME')).toBe('worker-1');
    expect(env.get('POD_NAMESPACE')).toBe('kata-deploy');
    expect(env.get('HOST_ROOT')).toBe('/host');
    expect(env.get('KATA_PAYLOAD')).toBe(IMAGE.env.KATA_PAYLOAD);
    expect(env.get('KUBERNETES_SERVICE_HOST')).toBe('127.0.0.1');
    expect(env.get('KUBERNETES_SERVICE_PORT')).toBe('6443');
  });

  it('sets up every declared volume with its hostPath type, mount path and readOnly flag', () => {
    const ds = rendered();
    const mounts = new Map(container(ds).volumeMounts.map((mount: { name: string }) => [mount.name, mount]));
    expect(plan.volumes.map((volume) => volume.volume)).toEqual(
      ds.spec.template.spec.volumes.map((volume: { name: string }) => volume.name),
    );
    for (const volume of plan.volumes) {
      const mount = mounts.get(volume.volume) as { mountPath: string; readOnly?: boolean };
      expect(volume.target).toBe(mount.mountPath);
      if (volume.kind === 'hostPath') expect(volume.readOnly).toBe(mount.readOnly === true);
    }
    const systemd = plan.volumes.find((volume) => volume.target === '/host/run/systemd/private');
    expect(systemd).toMatchObject({ kind: 'hostPath', type: 'Socket', source: '/run/systemd/private' });
  });

  it('polls the probes on the named health port with the declared periods', () => {
    expect(plan.readiness).toMatchObject({ path: '/readyz', port: 8090, periodSeconds: 5, failureThreshold: 3 });
    expect(plan.liveness).toMatchObject({ path: '/healthz', port: 8090, periodSeconds: 20, failureThreshold: 3 });
    expect(plan.terminationGracePeriodSeconds).toBe(rendered().spec.template.spec.terminationGracePeriodSeconds);
    expect(plan.memoryLimitBytes).toBe(512 * 1024 * 1024);
  });

  it('takes privilege, capabilities and no_new_privs from the container securityContext', () => {
    const security = container(rendered()).securityContext ?? {};
    expect(plan.privileged).toBe(security.privileged === true);
    expect(plan.noNewPrivs).toBe(security.allowPrivilegeEscalation === false);
    expect(plan.readOnlyRoot).toBe(security.readOnlyRootFilesystem === true);
    expect(plan.capabilities).toEqual(
      boundingSet(security.privileged === true, security.capabilities?.add, security.capabilities?.drop),
    );
  });
});

describe('capability bounding set from securityContext', () => {
  it.each([
    ['privileged: every capability', true, [], [], undefined],
    ['no capabilities field: the runtime defaults', false, [], [], [...RUNTIME_DEFAULT_CAPABILITIES].sort()],
    ['drop ALL, add two (with and without CAP_)', false, ['CAP_CHOWN', 'sys_chroot'], ['ALL'], ['CHOWN', 'SYS_CHROOT']],
    [
      'drop one default, add one extra',
      false,
      ['SYS_ADMIN'],
      ['NET_RAW'],
      [...RUNTIME_DEFAULT_CAPABILITIES.filter((cap) => cap !== 'NET_RAW'), 'SYS_ADMIN'].sort(),
    ],
  ])('%s', (_name, privileged, add, drop, expected) => {
    expect(boundingSet(privileged, add, drop)).toEqual(expected);
  });
});

describe('a manifest field the stand-in does not understand stops the pod before it starts', () => {
  type Ds = ReturnType<typeof rendered>;
  const cases: [string, (ds: Ds) => void, string][] = [
    ['a pod-level field', (ds) => (ds.spec.template.spec.shareProcessNamespace = true), 'shareProcessNamespace'],
    ['a pod securityContext', (ds) => (ds.spec.template.spec.securityContext = { runAsUser: 0 }), 'securityContext'],
    [
      'an AppArmor profile',
      (ds) => (container(ds).securityContext.appArmorProfile = { type: 'RuntimeDefault' }),
      'containers[0].securityContext.appArmorProfile',
    ],
    [
      'a localhost seccomp profile',
      (ds) => (container(ds).securityContext.seccompProfile = { type: 'Localhost', localhostProfile: 'x.json' }),
      'containers[0].securityContext.seccompProfile',
    ],
    ['a startup probe', (ds) => (container(ds).startupProbe = container(ds).readinessProbe), 'startupProbe'],
    ['an exec probe', (ds) => (container(ds).livenessProbe = { exec: { command: ['true'] } }), 'livenessProbe.exec'],
    [
      'a fieldRef it cannot resolve',
      (ds) => container(ds).env.push({ name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }),
      'fieldRef.fieldPath',
    ],
    [
      'env from a Secret',
      (ds) => container(ds).env.push({ name: 'S', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }),
      'valueFrom.secretKeyRef',
    ],
    [
      'a configMap volume',
      (ds) => ds.spec.template.spec.volumes.push({ name: 'c', configMap: { name: 'c' } }),
      'configMap',
    ],
    ['hostPID: true', (ds) => (ds.spec.template.spec.hostPID = true), 'hostPID'],
    ['a second container', (ds) => ds.spec.template.spec.containers.push(container(ds)), 'containers'],
    [
      'a mount of a volume that does not exist',
      (ds) => container(ds).volumeMounts.push({ name: 'nope', mountPath: '/nope' }),
      'volumeMounts',
    ],
    ['a BlockDevice hostPath', (ds) => (ds.spec.template.spec.volumes[0].hostPath.type = 'BlockDevice'), 'type'],
  ];
  it.each(cases)('%s', (_name, change, where) => {
    const ds = rendered();
    change(ds);
    let thrown: unknown;
    try {
      planPod(ds, CONTEXT);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(UnsupportedManifestField);
    expect((thrown as UnsupportedManifestField).path).toContain(where);
  });

  it('the unchanged rendered manifest plans without an error (so each case above fails for its change)', () => {
    expect(() => planPod(rendered(), CONTEXT)).not.toThrow();
  });
});

describe('seccomp: RuntimeDefault is applied, so the image must say where its loader runs', () => {
  const options = {
    node: { name: 'worker-1', leaderPid: 1 },
    image: IMAGE,
    api: { host: '127.0.0.1', port: 6443, token: 't', caPem: 'ca' },
  };
  const seccompDaemonSet = () => {
    const ds = rendered();
    container(ds).securityContext = { ...container(ds).securityContext, seccompProfile: { type: 'RuntimeDefault' } };
    return ds;
  };

  it('a RuntimeDefault profile stops the pod when the image names no Node and koffi to install the filter', () => {
    expect(() => new StandinPod({ ...options, daemonSet: seccompDaemonSet() })).toThrow(UnsupportedManifestField);
    const loader = { node: '/usr/local/bin/node', koffi: '/opt/kata-deploy/node_modules/koffi' };
    const pod = new StandinPod({
      ...options,
      image: { ...IMAGE, seccompLoader: loader },
      daemonSet: seccompDaemonSet(),
    });
    expect(pod.plan.seccomp).toBe('RuntimeDefault');
  });
});
