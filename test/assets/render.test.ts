import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM script without types
import { kustomize, renderedDaemonSet } from '../../scripts/assets/kustomize.mjs';
import { kustomizations, only, render, validateObject } from '../helpers/rendered-assets.js';

describe('assets/ rendered by real kubectl', () => {
  it('daemonset.yaml is exactly its header plus `kubectl kustomize assets/base`', () => {
    const shipped = readFileSync(new URL('../../daemonset.yaml', import.meta.url), 'utf8');
    expect(shipped, 'daemonset.yaml is stale: run npm run render:daemonset').toBe(renderedDaemonSet());
  });

  const all = kustomizations();
  it('finds the base, four overlays, tenant isolation, examples and the component', () => {
    expect(all.map((k) => k.dir)).toEqual(
      expect.arrayContaining([
        'base',
        'overlays/k3s',
        'overlays/rke2',
        'overlays/k0s',
        'overlays/microk8s',
        'tenant-isolation',
        'examples',
        'components/custom-runtimeclasses',
      ]),
    );
  });

  for (const { dir } of all.filter((k) => k.kind === 'Kustomization')) {
    it(`${dir}: renders, and every object is valid against the Kubernetes schema`, () => {
      const objects = render(dir);
      expect(objects.length).toBeGreaterThan(0);
      for (const object of objects) validateObject(object);
    });
  }

  it('every component is used by a kustomization that renders it', () => {
    const components = all.filter((k) => k.kind === 'Component').map((k) => k.dir);
    const users = all.filter((k) => k.kind === 'Kustomization');
    for (const component of components) {
      const name = component.split('/').pop()!;
      const user = users.find((k) =>
        readFileSync(new URL(`../../assets/${k.dir}/kustomization.yaml`, import.meta.url), 'utf8').includes(name),
      );
      expect(user, `no kustomization includes ${component}`).toBeDefined();
    }
  });

  it('the schema check does catch a broken object', () => {
    const broken = structuredClone(only(render('tenant-isolation'), 'ValidatingAdmissionPolicy'));
    broken.spec.validations[0].expression = 42;
    expect(() => validateObject(broken)).toThrow(/ValidatingAdmissionPolicy kata-deploy-tenant-isolation/);
    expect(() => validateObject({ kind: 'ConfigMap', metadata: { name: 'x' } })).toThrow(/no kubernetes-models/);
  });

  it('reports a kustomization kubectl refuses, with its message', () => {
    expect(() => kustomize('assets/no-such-dir')).toThrow(/kubectl kustomize assets\/no-such-dir failed: .+/);
  });
});
