import type { V1DaemonSet, V1Node, V1NodeSelectorRequirement, V1NodeSelectorTerm } from '@kubernetes/client-node';

/**
 * Whether our DaemonSet still wants a pod on this node. `selects` means the pod is going away for a
 * rolling update, an eviction or a restart and a new one will follow: the node must be left exactly
 * as it is (upstream #12761 killed every Kata pod in a cluster by uninstalling on restarts). Anything
 * else means the DaemonSet no longer covers the node, so its pod must uninstall on the way out.
 */
export type DaemonSetVerdict =
  | { readonly kind: 'selects' }
  | { readonly kind: 'gone' }
  | { readonly kind: 'deleting' }
  | { readonly kind: 'not-selected'; readonly reason: string };

function requirementHolds(requirement: V1NodeSelectorRequirement, value: string | undefined): boolean {
  const values = requirement.values ?? [];
  switch (requirement.operator) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      return value === undefined || !values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
      return value !== undefined && Number(value) > Number(values[0]);
    case 'Lt':
      return value !== undefined && Number(value) < Number(values[0]);
    default:
      return false;
  }
}

function termHolds(term: V1NodeSelectorTerm, node: V1Node): boolean {
  const labels = node.metadata?.labels ?? {};
  const fields: Record<string, string | undefined> = { 'metadata.name': node.metadata?.name };
  const expressions = term.matchExpressions ?? [];
  const matchFields = term.matchFields ?? [];
  // An empty term matches nothing, as the scheduler reads it.
  if (expressions.length === 0 && matchFields.length === 0) return false;
  return (
    expressions.every((r) => requirementHolds(r, labels[r.key])) &&
    matchFields.every((r) => requirementHolds(r, fields[r.key]))
  );
}

/**
 * Reads the pod template's nodeSelector and required node affinity against the node's labels and name,
 * the way the DaemonSet controller decides where pods run. Taints are not considered: a DaemonSet whose
 * pod no longer tolerates a new NoExecute taint is a node problem, not a teardown.
 */
export function daemonSetVerdict(daemonSet: V1DaemonSet | undefined, node: V1Node): DaemonSetVerdict {
  if (daemonSet === undefined) return { kind: 'gone' };
  if (daemonSet.metadata?.deletionTimestamp !== undefined && daemonSet.metadata.deletionTimestamp !== null)
    return { kind: 'deleting' };
  const spec = daemonSet.spec?.template.spec;
  const labels = node.metadata?.labels ?? {};
  for (const [key, value] of Object.entries(spec?.nodeSelector ?? {})) {
    if (labels[key] !== value)
      return {
        kind: 'not-selected',
        reason: `nodeSelector ${key}=${value} does not match the node (${labels[key] ?? 'absent'})`,
      };
  }
  const terms = spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (terms !== undefined && !terms.some((term) => termHolds(term, node))) {
    return { kind: 'not-selected', reason: 'no required node affinity term matches the node' };
  }
  return { kind: 'selects' };
}
