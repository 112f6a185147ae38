import { isCelError, run } from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';
import type { KubeObject } from './rendered-assets.js';

/**
 * A Kubernetes object as CEL sees it in admission: objects become Maps and integers BigInts (CEL's
 * int), so `has()`, field selection and arithmetic behave as in the API server.
 */
export function toCel(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toCel);
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  if (value !== null && typeof value === 'object')
    return new Map(Object.entries(value).map(([name, field]) => [name, toCel(field)]));
  return value;
}

/** Evaluates one CEL expression of a policy with the real CEL engine; throws on a CEL error. */
export function evaluate(expression: string, bindings: Record<string, unknown>): unknown {
  const result = run(expression, bindings as never, { funcs: strings });
  if (isCelError(result)) throw new Error(`CEL error in \`${expression}\`: ${result.message}`);
  return result;
}

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** Kubernetes label selector semantics (an empty selector selects everything). */
export function selects(selector: LabelSelector | undefined, labels: Record<string, string> = {}): boolean {
  const byLabel = Object.entries(selector?.matchLabels ?? {}).every(([name, value]) => labels[name] === value);
  const byExpression = (selector?.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
    if (operator === 'In') return key in labels && values.includes(labels[key]!);
    if (operator === 'NotIn') return !(key in labels) || !values.includes(labels[key]!);
    if (operator === 'Exists') return key in labels;
    if (operator === 'DoesNotExist') return !(key in labels);
    throw new Error(`unknown selector operator ${operator}`);
  });
  return byLabel && byExpression;
}

/** One admission request for a core/v1 resource. */
export interface AdmissionRequest {
  readonly operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  readonly resource: string;
  readonly object: KubeObject;
  readonly namespace: KubeObject;
}

export type AdmissionOutcome =
  | { readonly matched: false }
  | { readonly matched: true; readonly allowed: true }
  | { readonly matched: true; readonly allowed: false; readonly reason: string; readonly message: string };

function ruleMatches(rule: KubeObject, request: AdmissionRequest): boolean {
  const has = (list: string[], value: string) => list.includes('*') || list.includes(value);
  const version = String(request.object.apiVersion);
  const group = version.includes('/') ? version.split('/')[0]! : '';
  return (
    has(rule.apiGroups, group) &&
    has(rule.apiVersions, version.split('/').pop()!) &&
    has(rule.operations, request.operation) &&
    has(rule.resources, request.resource)
  );
}

/**
 * The API server's choice of denial message: messageExpression's result, unless it fails or yields an
 * empty, blank or multi-line string; then `message` (and, without one, the failed expression).
 */
function failureMessage(validation: KubeObject, bindings: Record<string, unknown>): string {
  const fallback = validation.message ?? `failed expression: ${validation.expression}`;
  if (validation.messageExpression === undefined) return fallback;
  let message: unknown;
  try {
    message = evaluate(validation.messageExpression, bindings);
  } catch {
    return fallback;
  }
  if (typeof message !== 'string' || message.trim() === '' || /[\r\n]/.test(message)) return fallback;
  return message;
}

/**
 * What the API server would do with a request under one ValidatingAdmissionPolicy and its binding:
 * match (policy resource rules, then both namespace selectors), evaluate the variables in order, then
 * each validation; the first false one denies with its messageExpression (or message).
 */
export function admit(policy: KubeObject, binding: KubeObject, request: AdmissionRequest): AdmissionOutcome {
  if (binding.spec.policyName !== policy.metadata.name) return { matched: false };
  const constraints = policy.spec.matchConstraints;
  const labels = request.namespace.metadata.labels;
  if (!(constraints.resourceRules as KubeObject[]).some((rule) => ruleMatches(rule, request)))
    return { matched: false };
  if (!selects(constraints.namespaceSelector, labels)) return { matched: false };
  if (!selects(binding.spec.matchResources?.namespaceSelector, labels)) return { matched: false };
  const variables = new Map<string, unknown>();
  const bindings = { object: toCel(request.object), namespaceObject: toCel(request.namespace), variables };
  for (const variable of policy.spec.variables ?? [])
    variables.set(variable.name, evaluate(variable.expression, bindings));
  for (const validation of policy.spec.validations) {
    const passed = evaluate(validation.expression, bindings);
    if (typeof passed !== 'boolean') throw new Error(`validation \`${validation.expression}\` is not a bool`);
    if (passed) continue;
    return { matched: true, allowed: false, reason: validation.reason, message: failureMessage(validation, bindings) };
  }
  return { matched: true, allowed: true };
}
