import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { loadAllYaml } from '@kubernetes/client-node';
import {
  ValidatingAdmissionPolicy,
  ValidatingAdmissionPolicyBinding,
} from 'kubernetes-models/admissionregistration.k8s.io/v1';
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { RuntimeClass } from 'kubernetes-models/node.k8s.io/v1/RuntimeClass';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Pod } from 'kubernetes-models/v1/Pod';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
// @ts-expect-error plain ESM script without types
import { kustomize, ROOT } from '../../scripts/assets/kustomize.mjs';

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML of any Kubernetes kind, read field by field
export type KubeObject = Record<string, any>;

/** The schema model of every kind assets/ ships; a kind missing here fails validation by name. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  Namespace,
  Pod,
  ServiceAccount,
  ClusterRole,
  ClusterRoleBinding,
  Role,
  RoleBinding,
  DaemonSet,
  Deployment,
  RuntimeClass,
  ValidatingAdmissionPolicy,
  ValidatingAdmissionPolicyBinding,
};

/** `kubectl kustomize assets/<dir>` with the real kubectl, parsed into objects. */
export function render(dir: string): KubeObject[] {
  return loadAllYaml(kustomize(path.join('assets', dir))) as KubeObject[];
}

/** Throws naming the object and the schema error when an object is not valid for its kind. */
export function validateObject(object: KubeObject): void {
  const Model = MODELS[object.kind];
  if (Model === undefined) throw new Error(`no kubernetes-models schema for kind ${object.kind}`);
  try {
    new Model(object as never).validate();
  } catch (error) {
    throw new Error(`${object.kind} ${object.metadata?.name}: ${(error as Error).message}`);
  }
}

/** Every directory under assets/ holding a kustomization.yaml, relative to assets/, and its kind. */
export function kustomizations(): { dir: string; kind: string }[] {
  const found: { dir: string; kind: string }[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(path.join(ROOT, 'assets', dir))) {
      const relative = path.join(dir, name);
      if (statSync(path.join(ROOT, 'assets', relative)).isDirectory()) walk(relative);
      else if (name === 'kustomization.yaml') {
        const kind = /^kind:\s*(\S+)/m.exec(readFileSync(path.join(ROOT, 'assets', relative), 'utf8'))?.[1];
        found.push({ dir, kind: kind ?? 'Kustomization' });
      }
    }
  };
  walk('');
  return found.sort((a, b) => a.dir.localeCompare(b.dir));
}

/** The one object of a kind (and name, when given) in a rendering; throws when it is missing. */
export function only(objects: KubeObject[], kind: string, name?: string): KubeObject {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name ?? ''}, found ${found.length}`);
  return found[0]!;
}
