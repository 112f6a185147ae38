import { describe, expect, it } from 'vitest';
import { parseSettings } from '../../src/settings/parse-settings.js';
import { type KubeObject, only, render } from '../helpers/rendered-assets.js';

/** Objects as plain JSON keyed by kind/name: kustomize orders a rendering with components differently. */
const byName = (objects: KubeObject[]) =>
  Object.fromEntries(objects.map((o) => [`${o.kind}/${o.metadata.name}`, JSON.parse(JSON.stringify(o))]));
const container = (objects: KubeObject[]) => only(objects, 'DaemonSet').spec.template.spec.containers[0];

describe('assets/overlays/kvm-proof (the component on the base)', () => {
  const base = render('base');
  const proof = render('overlays/kvm-proof');

  it('runs the container privileged and requires the KVM proof, and changes nothing else', () => {
    const patched = container(proof);
    expect(patched.securityContext.privileged).toBe(true);
    expect(patched.securityContext.allowPrivilegeEscalation).toBe(true);
    const env = Object.fromEntries(
      (patched.env as KubeObject[]).filter((e) => e.value !== undefined).map((e) => [e.name, e.value]),
    );
    expect(parseSettings({ env, flags: {}, arch: 'x86_64' }).requireKvmProof).toBe(true);
    const undo = structuredClone(proof);
    const undone = container(undo);
    undone.securityContext = container(base).securityContext;
    undone.env = (undone.env as KubeObject[]).filter((e) => e.name !== 'KATA_REQUIRE_KVM_PROOF');
    expect(byName(undo)).toEqual(byName(base));
  });

  it('leaves the base unprivileged and the proof optional', () => {
    expect(container(base).securityContext.privileged).toBe(false);
    expect((container(base).env as KubeObject[]).map((e) => e.name)).not.toContain('KATA_REQUIRE_KVM_PROOF');
  });
});
