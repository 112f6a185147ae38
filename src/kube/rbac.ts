/**
 * Every permission the KubePort adapter (create-kube.ts) needs, as RBAC rules. daemonset.yaml grants
 * exactly these, and a test keeps the two equal: a verb used but not granted fails in a cluster with
 * a 403, a verb granted but unused widens what a compromised node could do.
 */
export interface RbacRule {
  /** `cluster`: ClusterRole; `namespace`: Role in the DaemonSet's namespace. */
  readonly scope: 'cluster' | 'namespace';
  readonly apiGroup: string;
  readonly resource: string;
  readonly verbs: readonly string[];
  /** Needed only when CREATE_RUNTIMECLASSES or CREATE_DEFAULT_RUNTIMECLASS is on. */
  readonly onlyForRuntimeClasses?: true;
}

/** One rule per resource the adapter touches, with the verbs of its calls. */
export const RBAC_RULES: readonly RbacRule[] = [
  { scope: 'cluster', apiGroup: '', resource: 'nodes', verbs: ['get', 'patch'] },
  { scope: 'cluster', apiGroup: '', resource: 'events', verbs: ['create'] },
  { scope: 'namespace', apiGroup: 'apps', resource: 'daemonsets', verbs: ['get'] },
  // The restart budget (lease-port.ts): find, wait on (watch), take, renew and give back a slot.
  {
    scope: 'namespace',
    apiGroup: 'coordination.k8s.io',
    resource: 'leases',
    verbs: ['list', 'watch', 'create', 'update', 'delete'],
  },
  {
    scope: 'cluster',
    apiGroup: 'node.k8s.io',
    resource: 'runtimeclasses',
    verbs: ['get', 'list', 'create', 'update'],
    onlyForRuntimeClasses: true,
  },
];
