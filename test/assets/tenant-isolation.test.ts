import { describe, expect, it } from 'vitest';
import { podFixedFor } from '../../src/kube/overhead.js';
import { type AdmissionRequest, admit, evaluate } from '../helpers/admission-policy.js';
import { type KubeObject, only, render, validateObject } from '../helpers/rendered-assets.js';

const isolation = render('tenant-isolation');
const policy = only(isolation, 'ValidatingAdmissionPolicy');
const binding = only(isolation, 'ValidatingAdmissionPolicyBinding');
const examples = render('examples');
const base = render('base');

const namespace = (name: string) => only(examples, 'Namespace', name);
/** The pod a Deployment's ReplicaSet would create, in the namespace given (default: the Deployment's). */
function podOf(deployment: KubeObject, inNamespace?: string): KubeObject {
  const { template } = deployment.spec;
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { ...template.metadata, generateName: `${deployment.metadata.name}-`, namespace: inNamespace },
    spec: structuredClone(template.spec),
  };
  pod.metadata.namespace ??= deployment.metadata.namespace;
  validateObject(pod);
  return pod;
}
const create = (pod: KubeObject): AdmissionRequest => ({
  operation: 'CREATE',
  resource: 'pods',
  object: pod,
  namespace: namespace(pod.metadata.namespace),
});
const withRuntimeClass = (pod: KubeObject, runtimeClassName: string) => ({
  ...pod,
  spec: { ...pod.spec, runtimeClassName },
});

const trusted = only(examples, 'Deployment', 'trusted-web');
const untrusted = examples.filter((o) => o.kind === 'Deployment' && o.metadata.name === 'untrusted-job-runner');

describe('tenant isolation policy (its CEL evaluated by @bufbuild/cel)', () => {
  it('is admissionregistration.k8s.io/v1, denies (not only audits) and fails closed', () => {
    expect(policy.apiVersion).toBe('admissionregistration.k8s.io/v1');
    expect(binding.spec.validationActions).toEqual(['Deny']);
    expect(policy.spec.failurePolicy).toBe('Fail');
  });

  it("admits each tenant's Kata Deployment in its isolated namespace", () => {
    expect(untrusted.map((d) => d.metadata.namespace).sort()).toEqual(['tenant-a', 'tenant-b']);
    for (const deployment of untrusted)
      expect(admit(policy, binding, create(podOf(deployment)))).toEqual({ matched: true, allowed: true });
  });

  it('leaves the trusted runc Deployment alone in the unlabelled platform namespace', () => {
    expect(podOf(trusted).spec.runtimeClassName).toBeUndefined();
    expect(admit(policy, binding, create(podOf(trusted)))).toEqual({ matched: false });
  });

  it('denies a runc pod in a tenant namespace, saying why and what to set', () => {
    const outcome = admit(policy, binding, create(podOf(trusted, 'tenant-a')));
    expect(outcome).toMatchObject({ matched: true, allowed: false, reason: 'Forbidden' });
    const message = (outcome as { message: string }).message;
    expect(message).toContain('namespace tenant-a is isolated (label kata-deploy.katacontainers.io/isolation=kata)');
    expect(message).toContain('sets no runtimeClassName (it would run on runc, sharing the node kernel)');
    expect(message).toContain('set spec.runtimeClassName (in a Deployment: spec.template.spec.runtimeClassName)');
    expect(message).toMatch(/one of: kata, kata-clh, .*kata-qemu-tdx-runtime-rs$/);
    expect(message).not.toMatch(/\s{2,}/);
  });

  it('falls back to a static message that says the same when the message expression cannot be used', () => {
    const broken = structuredClone(policy);
    broken.spec.validations[0].messageExpression = "'two\\nlines'";
    const outcome = admit(broken, binding, create(podOf(trusted, 'tenant-a')));
    expect((outcome as { message: string }).message).toMatch(/^this namespace is isolated .*set spec.runtimeClassName/);
    expect((outcome as { message: string }).message).not.toMatch(/\n/);
  });

  it('denies any RuntimeClass that is not a Kata one, naming it', () => {
    for (const name of ['runc', 'gvisor', 'kata-qemu-unknown', 'Kata-qemu', '']) {
      const outcome = admit(policy, binding, create(withRuntimeClass(podOf(untrusted[0]!), name)));
      expect(outcome, name).toMatchObject({ matched: true, allowed: false });
      if (name !== '')
        expect((outcome as { message: string }).message).toContain(`asks for RuntimeClass ${name}, which is not`);
    }
  });

  it('admits exactly the RuntimeClasses assets/base ships', () => {
    const shipped = base.filter((o) => o.kind === 'RuntimeClass').map((o) => o.metadata.name);
    const listed = evaluate(policy.spec.variables[0].expression, {}) as string[];
    expect(policy.spec.variables[0].name).toBe('kataRuntimeClasses');
    expect([...listed].sort()).toEqual([...shipped].sort());
    for (const name of shipped)
      expect(admit(policy, binding, create(withRuntimeClass(podOf(untrusted[0]!), name))), name).toMatchObject({
        allowed: true,
      });
  });

  it('checks only CREATE: runc pods that predate the label can still be updated and finalized', () => {
    const update = { ...create(podOf(trusted, 'tenant-a')), operation: 'UPDATE' as const };
    expect(admit(policy, binding, update)).toEqual({ matched: false });
  });

  it('applies only to namespaces labelled isolation=kata', () => {
    const relabelled = { ...namespace('tenant-a'), metadata: { name: 'tenant-a', labels: { tenant: 'a' } } };
    const request = { ...create(podOf(trusted, 'tenant-a')), namespace: relabelled };
    expect(admit(policy, binding, request)).toEqual({ matched: false });
    const other = { metadata: { name: 'x', labels: { 'kata-deploy.katacontainers.io/isolation': 'none' } } };
    expect(admit(policy, binding, { ...request, namespace: other })).toEqual({ matched: false });
  });
});

describe('custom RuntimeClasses component', () => {
  const composed = render('examples/custom-runtimeclass');
  const customPolicy = only(composed, 'ValidatingAdmissionPolicy');
  const large = only(composed, 'RuntimeClass', 'kata-qemu-large');

  it("carries a bigger guest's overhead: 8 GiB and 4 vCPUs plus QEMU's host-side constant", () => {
    const podFixed = podFixedFor({ memoryMiB: 8192, vcpus: 4 }, 'qemu');
    expect(large.overhead.podFixed).toEqual(podFixed);
    expect(large.scheduling.nodeSelector).toEqual(only(base, 'RuntimeClass', 'kata-qemu').scheduling.nodeSelector);
    expect(large.metadata.labels['app.kubernetes.io/managed-by']).toBeUndefined();
  });

  it('extends the isolation policy so tenants may use it, and only with the component', () => {
    const pod = withRuntimeClass(podOf(untrusted[0]!), 'kata-qemu-large');
    expect(admit(customPolicy, binding, create(pod))).toEqual({ matched: true, allowed: true });
    expect(admit(policy, binding, create(pod))).toMatchObject({ allowed: false });
    const runc = admit(customPolicy, binding, create(podOf(trusted, 'tenant-b')));
    expect((runc as { message: string }).message).toMatch(/kata-qemu-tdx-runtime-rs, kata-qemu-large$/);
  });
});
