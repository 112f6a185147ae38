// The seccomp part of the container runtime for the kubelet stand-in: from the pod's plan, the loader argv
// that puts the RuntimeDefault filter on the container's first process, or nothing (Unconfined, privileged).
import { UnsupportedManifestField } from '../kubelet/known-fields.ts';
import type { PodPlan } from '../kubelet/pod-plan.ts';
import { assembleSeccomp, seccompArch } from './bpf.ts';
import { type SeccompLoader, seccompLoaderArgv } from './loader.ts';
import { runtimeDefaultProfile } from './runtime-default.ts';

const FIELD = 'spec.template.spec.containers[0].securityContext.seccompProfile';

/**
 * The argv prefix that installs the pod's filter and then execs the rest, or [] when it gets none: a
 * privileged container runs unconfined (containerd's CRI does so), as does `Unconfined` or no profile.
 */
export function podSeccompPrefix(plan: PodPlan, loader: SeccompLoader | undefined): readonly string[] {
  if (plan.seccomp !== 'RuntimeDefault' || plan.capabilities === undefined) return [];
  if (loader === undefined)
    throw new UnsupportedManifestField(FIELD, 'the image config names no Node and koffi to load a seccomp filter');
  const arch = seccompArch();
  if (typeof arch === 'string') throw new UnsupportedManifestField(FIELD, arch);
  const { program } = assembleSeccomp(runtimeDefaultProfile(plan.capabilities), arch);
  return seccompLoaderArgv(loader, program, []);
}
