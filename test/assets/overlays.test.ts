import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUNDLED_BINARIES } from '../../src/containerd/config/validator.js';
import { FLAVOUR_LAYOUTS, UNIT_DIRS } from '../../src/core/flavours.js';
import { HOST_LOCK_PATH, stateDir } from '../../src/core/paths.js';
import { parseSettings } from '../../src/settings/parse-settings.js';
import type { RuntimeFlavour } from '../../src/settings/settings.js';
import { type KubeObject, only, render } from '../helpers/rendered-assets.js';

const OVERLAYS: Record<string, readonly RuntimeFlavour[]> = {
  k3s: ['k3s', 'k3s-agent'],
  rke2: ['rke2-server', 'rke2-agent'],
  k0s: ['k0s-worker', 'k0s-controller'],
  microk8s: ['microk8s'],
};

interface Mount {
  readonly host: string;
  readonly at: string;
  readonly readOnly: boolean;
}

function mountsOf(objects: KubeObject[]): Mount[] {
  const pod = only(objects, 'DaemonSet').spec.template.spec;
  const volumes = new Map<string, string>(pod.volumes.map((v: KubeObject) => [v.name, v.hostPath.path]));
  return (pod.containers[0].volumeMounts as KubeObject[]).map((m) => ({
    host: volumes.get(m.name)!,
    at: m.mountPath,
    readOnly: m.readOnly === true,
  }));
}

function literalEnv(objects: KubeObject[]): Record<string, string> {
  const env = only(objects, 'DaemonSet').spec.template.spec.containers[0].env as KubeObject[];
  return Object.fromEntries(env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value]));
}

const covering = (mounts: Mount[], file: string) =>
  mounts.find((m) => file === m.host || file.startsWith(`${m.host}/`));
const key = (o: KubeObject) => `${o.kind}/${o.metadata.name}`;
const base = render('base');

for (const [overlay, flavours] of Object.entries(OVERLAYS)) {
  describe(`assets/overlays/${overlay}`, () => {
    const objects = render(`overlays/${overlay}`);
    const mounts = mountsOf(objects);
    const settings = parseSettings({ env: literalEnv(objects), flags: {}, arch: 'x86_64' });

    it('changes only the DaemonSet (and, where needed, the Namespace) of the base', () => {
      expect(objects.map(key).sort()).toEqual(base.map(key).sort());
      const changed = objects.filter((o) => JSON.stringify(o) !== JSON.stringify(base.find((b) => key(b) === key(o))));
      expect(changed.map(key)).toContain('DaemonSet/kata-deploy');
      for (const object of changed) expect(['DaemonSet', 'Namespace']).toContain(object.kind);
    });

    it('mounts every host path at /host + the same path', () => {
      for (const mount of mounts) expect(mount.at).toBe(`/host${mount.host}`);
    });

    it(`mounts the config and socket of ${flavours.join(' and ')} writable, and their bundled containerd`, () => {
      for (const flavour of flavours) {
        const layout = FLAVOUR_LAYOUTS[flavour];
        for (const file of [layout.configPath, path.dirname(layout.configPath), layout.socket])
          expect(covering(mounts, file), `${flavour}: ${file}`).toMatchObject({ readOnly: false });
        for (const binary of BUNDLED_BINARIES[flavour] ?? [])
          expect(covering(mounts, binary), `${flavour}: ${binary}`).toBeDefined();
      }
    });

    it('keeps what every flavour needs: install dir, ledger, lock, systemd socket, module list, devices, units', () => {
      const writable = [
        settings.installDir,
        stateDir(settings),
        HOST_LOCK_PATH,
        settings.systemdSocket,
        '/etc/modules-load.d/kata-containers-default.conf',
      ];
      for (const file of writable) expect(covering(mounts, file), file).toMatchObject({ readOnly: false });
      for (const file of ['/dev/kvm', '/proc/cpuinfo', '/sys/bus/pci/devices', '/usr/bin', ...UNIT_DIRS.slice(0, 1)])
        expect(covering(mounts, file), file).toBeDefined();
    });

    it("mounts no other distribution's config or socket (DirectoryOrCreate would leave them on the node)", () => {
      const own = new Set(flavours.flatMap((f) => [FLAVOUR_LAYOUTS[f].configPath, FLAVOUR_LAYOUTS[f].socket]));
      const foreign = Object.values(FLAVOUR_LAYOUTS)
        .filter((layout) => !flavours.includes(layout.flavour))
        .flatMap((layout) => [layout.configPath, layout.socket])
        .filter((file) => !own.has(file));
      for (const file of foreign) expect(covering(mounts, file), file).toBeUndefined();
    });

    it('sets the flavour only where every node of the distribution runs the same one', () => {
      expect(settings.runtime).toBe(flavours.length === 1 ? flavours[0] : undefined);
    });
  });
}

describe('distribution specifics', () => {
  it('rke2: its namespace opts out of the CIS profile restricted Pod Security Standard', () => {
    const labels = only(render('overlays/rke2'), 'Namespace').metadata.labels;
    expect(labels['pod-security.kubernetes.io/enforce']).toBe('privileged');
  });

  it('k3s and rke2 mount only their own tree under /var/lib/rancher', () => {
    const rancher = (overlay: string) =>
      mountsOf(render(`overlays/${overlay}`)).filter((m) => m.host.includes('rancher'));
    expect(rancher('k3s').map((m) => m.host)).toEqual(['/var/lib/rancher/k3s']);
    expect(rancher('rke2').map((m) => m.host)).toEqual(['/var/lib/rancher/rke2']);
  });

  it('the base mounts every distribution at once, and pins no flavour', () => {
    const mounts = mountsOf(base);
    for (const layout of Object.values(FLAVOUR_LAYOUTS)) expect(covering(mounts, layout.configPath)).toBeDefined();
    expect(literalEnv(base).KATA_RUNTIME_FLAVOUR).toBeUndefined();
  });
});
