// Renders assets/ with a real kubectl: the one scripts/ci/kubectl.sh unpacks into .cache/ (the version CI
// pins), else the one on PATH. Shared by the render script and the tests, so both use the same binary.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

export const ROOT = path.join(import.meta.dirname, '..', '..');
const CACHED = path.join(ROOT, '.cache', 'kubectl', 'usr', 'bin', 'kubectl');

/** The kubectl binary to use; throws naming the script that provides one when there is none. */
export function findKubectl() {
  if (existsSync(CACHED)) return CACHED;
  if (spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0) return 'kubectl';
  throw new Error('no kubectl: run `bash scripts/ci/kubectl.sh` (unpacks Debian sid kubectl into .cache/kubectl)');
}

/** `kubectl kustomize <dir>` (a path relative to the project root); throws with kubectl's stderr on failure. */
export function kustomize(dir) {
  try {
    return execFileSync(findKubectl(), ['kustomize', path.join(ROOT, dir)], { encoding: 'utf8', stdio: 'pipe' });
  } catch (error) {
    throw new Error(`kubectl kustomize ${dir} failed: ${String(error.stderr ?? error.message).trim()}`);
  }
}

/** The hand-written part of daemonset.yaml; everything after it is the rendered base. */
export const DAEMONSET_HEADER = `# kata-deploy: installs Kata Containers on every node this DaemonSet selects.
# Generated from assets/base by \`npm run render:daemonset\` (edit there; a test keeps the two equal).
#
# Roll out:    kubectl apply -f daemonset.yaml
#              kubectl -n kata-deploy rollout status ds/kata-deploy   # ready = installed and labelled
# Use:         pods choose \`runtimeClassName: kata-qemu\` (or \`kata\`); others keep runc.
# Teardown:    1. kubectl -n kata-deploy delete ds kata-deploy --wait
#                 each pod sees its DaemonSet gone, uninstalls from its node and releases the labels
#                 (terminationGracePeriodSeconds bounds it)
#              2. kubectl delete -f daemonset.yaml
#                 removes RBAC, the namespace and the RuntimeClasses; doing this first would take the
#                 pods' API access away mid-teardown, and they would then leave Kata installed.
# A rolling update (new image, changed env) never uninstalls: a pod whose DaemonSet still selects its
# node exits without touching the node, and its successor finds the node converged.
# Distribution overlays, tenant isolation and examples: assets/ (README "Packaging").
`;

/** What daemonset.yaml must contain: the header, then `kubectl kustomize assets/base`. */
export function renderedDaemonSet() {
  return `${DAEMONSET_HEADER}---\n${kustomize('assets/base')}`;
}
