import type { V1DaemonSet, V1Node, V1RuntimeClass } from '@kubernetes/client-node';

/** One JSON Patch (RFC 6902) operation, as the API server reads `application/json-patch+json`. */
export type JsonPatchOp =
  | { readonly op: 'add' | 'replace' | 'test'; readonly path: string; readonly value: unknown }
  | { readonly op: 'remove'; readonly path: string };

/**
 * A node write. Merge patches carry `metadata.resourceVersion` as their precondition (the server
 * answers 409 when the node moved on); JSON patches carry a `test` op on it, which fails the same way.
 */
export type NodePatch =
  | { readonly type: 'merge'; readonly body: Readonly<Record<string, unknown>> }
  | { readonly type: 'json'; readonly ops: readonly JsonPatchOp[] };

/** What a Node event reports, as the operator reads it in `kubectl describe node`. */
export interface NodeEventInput {
  readonly nodeName: string;
  readonly nodeUid: string | undefined;
  readonly type: 'Normal' | 'Warning';
  /** UpperCamelCase, stable: `KataInstalled`, `KataInstallFailed`, `KataRolledBack`, … */
  readonly reason: string;
  readonly message: string;
}

/**
 * The Kubernetes API as kata-deploy uses it, and nothing more: small enough that the RBAC in
 * daemonset.yaml can list every verb, and that tests can drive the real client against a fake server.
 * Every method retries transient failures itself (429, 5xx, dropped connections) within a deadline;
 * a 409 on a node patch is returned to the caller as a ConflictError so it re-reads and re-decides.
 */
export interface KubePort {
  getNode(name: string): Promise<V1Node>;
  /** Returns the node as the server stored it, so the caller can decide its next write from it. */
  patchNode(name: string, patch: NodePatch): Promise<V1Node>;
  createNodeEvent(event: NodeEventInput): Promise<void>;
  /** undefined when the DaemonSet does not exist (404). */
  getDaemonSet(namespace: string, name: string): Promise<V1DaemonSet | undefined>;
  /** undefined when the RuntimeClass does not exist (404). */
  getRuntimeClass(name: string): Promise<V1RuntimeClass | undefined>;
  createRuntimeClass(runtimeClass: V1RuntimeClass): Promise<V1RuntimeClass>;
  /** A PUT carrying the resourceVersion read before, so two nodes updating at once cannot both win. */
  replaceRuntimeClass(runtimeClass: V1RuntimeClass): Promise<V1RuntimeClass>;
  listRuntimeClasses(labelSelector: string): Promise<V1RuntimeClass[]>;
}

/**
 * The server refused a write because the object changed since it was read (HTTP 409). Not an error
 * for the operator: the caller reads again and decides again.
 */
export class ConflictError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConflictError';
  }
}
