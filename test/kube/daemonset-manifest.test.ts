import { readFileSync } from 'node:fs';
import { loadAllYaml } from '@kubernetes/client-node';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { RuntimeClass } from 'kubernetes-models/node.k8s.io/v1/RuntimeClass';
import { describe, expect, it } from 'vitest';
import { SHIM_CATALOGUE } from '../../src/core/shims.js';
import { FLAVOUR_LAYOUTS, FLAVOUR_MARKERS, UNIT_DIRS } from '../../src/core/flavours.js';
import { kataConfigDir } from '../../src/core/handlers.js';
import { HOST_LOCK_PATH, stateDir } from '../../src/core/paths.js';
import { KATA_DEFAULT_MEMORY_MIB, KATA_DEFAULT_VCPUS } from '../../src/core/pod-overhead.js';
import { DEFAULT_SHIMS } from '../../src/core/shims.js';
import { RBAC_RULES } from '../../src/kube/rbac.js';
import { desiredRuntimeClasses } from '../../src/kube/runtime-classes.js';
import { DEFAULT_HEALTH_PORT } from '../../src/modes/daemon-health.js';
import { parseSettings } from '../../src/settings/parse-settings.js';

// biome-ignore lint/suspicious/noExplicitAny: parsed JSON/YAML of any Kubernetes kind, read field by field
type Obj = Record<string, any>;
const objects = loadAllYaml(readFileSync(new URL('../../daemonset.yaml', import.meta.url), 'utf8')) as Obj[];
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  Namespace,
  ServiceAccount,
  ClusterRole,
  ClusterRoleBinding,
  Role,
  RoleBinding,
  DaemonSet,
  RuntimeClass,
};
const daemonSet = objects.find((o) => o.kind === 'DaemonSet')!;
const pod = daemonSet.spec.template.spec;
const container = pod.containers[0];

describe('daemonset.yaml', () => {
  it('every object is valid against the Kubernetes schema', () => {
    expect(objects.length).toBeGreaterThan(8);
    for (const object of objects) {
      const Model = MODELS[object.kind];
      expect(Model, `no model for ${object.kind}`).toBeDefined();
      expect(() => new Model!(object as never).validate(), `${object.kind} ${object.metadata?.name}`).not.toThrow();
    }
  });

  it('the schema check does catch a broken object', () => {
    const broken = structuredClone(daemonSet);
    broken.spec.template.spec.containers[0].ports[0].containerPort = 'eighty';
    expect(() => new DaemonSet(broken).validate()).toThrow();
  });

  it('grants exactly the RBAC verbs the code uses, and RuntimeClass rights only when they are created', () => {
    const granted = (kind: string) =>
      objects
        .filter((o) => o.kind === kind)
        .flatMap((o) => o.rules as Obj[])
        .flatMap((rule) =>
          rule.apiGroups.flatMap((group: string) =>
            rule.resources.map((resource: string) => `${group}/${resource}:${[...rule.verbs].sort().join(',')}`),
          ),
        );
    const wanted = (scope: string) =>
      RBAC_RULES.filter((r) => r.scope === scope && r.onlyForRuntimeClasses !== true).map(
        (r) => `${r.apiGroup}/${r.resource}:${[...r.verbs].sort().join(',')}`,
      );
    expect(granted('ClusterRole').sort()).toEqual(wanted('cluster').sort());
    expect(granted('Role').sort()).toEqual(wanted('namespace').sort());
    const env = Object.fromEntries(
      container.env.filter((e: Obj) => e.value !== undefined).map((e: Obj) => [e.name, e.value]),
    );
    expect([env.CREATE_RUNTIMECLASSES, env.CREATE_DEFAULT_RUNTIMECLASS]).toEqual(['false', 'false']);
  });

  it(
    'runs unprivileged and node-critical, with NODE_NAME from the downward API, HOST_ROOT=/host and a long grace ' +
      'period',
    () => {
      expect(container.securityContext).toMatchObject({
        privileged: false,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      });
      expect([pod.hostPID, pod.hostNetwork, pod.hostIPC]).toEqual([false, false, false]);
      expect(pod.priorityClassName).toBe('system-node-critical');
      expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(120);
      expect(container.env.find((e: Obj) => e.name === 'NODE_NAME').valueFrom.fieldRef.fieldPath).toBe('spec.nodeName');
      expect(container.env.find((e: Obj) => e.name === 'HOST_ROOT').value).toBe('/host');
      expect(container.args).toBeUndefined();
      expect(readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8')).toContain(
        'ENTRYPOINT ["kata-deploy", "daemon"]',
      );
      expect(daemonSet.spec.updateStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } });
    },
  );

  it('probes /healthz and /readyz on the health port', () => {
    expect(container.ports[0].containerPort).toBe(DEFAULT_HEALTH_PORT);
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
  });

  it('mounts every host path the installer touches under /host, at the same path', () => {
    const volumes = new Map<string, string>(pod.volumes.map((v: Obj) => [v.name, v.hostPath.path]));
    const mounts = (container.volumeMounts as Obj[]).map((m) => ({
      host: volumes.get(m.name)!,
      at: m.mountPath as string,
      readOnly: m.readOnly === true,
    }));
    for (const mount of mounts) expect(mount.at).toBe(`/host${mount.host}`);
    const defaults = parseSettings({ env: {}, flags: {}, arch: 'x86_64' });
    const suffixed = parseSettings({
      env: { MULTI_INSTALL_SUFFIX: 'dev', INSTALLATION_PREFIX: '/opt/custom' },
      flags: {},
      arch: 'x86_64',
    });
    const written = [
      ...Object.values(FLAVOUR_LAYOUTS).flatMap((layout) => [layout.configPath, layout.socket]),
      stateDir(defaults),
      stateDir(suffixed),
      HOST_LOCK_PATH,
      defaults.installDir,
      suffixed.installDir,
      kataConfigDir(defaults.installDir, SHIM_CATALOGUE.get('qemu')!, 'kata-qemu', false),
      kataConfigDir(defaults.installDir, SHIM_CATALOGUE.get('qemu')!, 'kata-qemu-debug', true),
      defaults.containerdSocket,
      defaults.systemdSocket,
      '/etc/modules-load.d/kata-containers-default.conf',
      '/usr/local/sbin/containerd-shim-kata-qemu-v2',
    ];
    const readOnly = [
      ...UNIT_DIRS,
      ...FLAVOUR_MARKERS.flatMap((marker) => marker.files),
      '/proc/cpuinfo',
      '/dev/kvm',
      '/sys/module/kvm_intel/parameters/tdx',
      '/sys/bus/pci/devices',
      '/usr/bin/containerd',
    ];
    const covering = (path: string) => mounts.find((m) => path === m.host || path.startsWith(`${m.host}/`));
    for (const path of written)
      expect(covering(path), `${path} is not mounted writable`).toMatchObject({ readOnly: false });
    for (const path of readOnly) expect(covering(path), `${path} is not mounted`).toBeDefined();
  });

  it(
    'ships the default shims RuntimeClasses with the same overhead the daemon would compute from default ' + 'configs',
    () => {
      const shims = DEFAULT_SHIMS.x86_64;
      const guests = new Map(
        shims.map((shim) => [shim, { memoryMiB: KATA_DEFAULT_MEMORY_MIB, vcpus: KATA_DEFAULT_VCPUS }]),
      );
      const expected = desiredRuntimeClasses(
        {
          shims,
          defaultShim: 'qemu',
          multiInstallSuffix: undefined,
          createRuntimeClasses: true,
          createDefaultRuntimeClass: true,
        },
        guests,
      );
      const shipped = objects.filter((o) => o.kind === 'RuntimeClass');
      expect(shipped).toEqual(expected);
    },
  );
});
