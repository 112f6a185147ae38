import { KataDeployError } from '../core/errors.js';
import type { Clock } from '../host/clock.js';
import type { Logger } from '../host/logger.js';
import { ConflictError } from './kube-port.js';

/** Which RBAC permission a call needs, so a 403 can name exactly what to grant. */
export interface ApiCallSpec {
  readonly verb: 'get' | 'list' | 'create' | 'update' | 'patch' | 'delete';
  /** Plural resource with its group, as a ClusterRole rule spells it: `nodes`, `runtimeclasses.node.k8s.io`. */
  readonly resource: string;
  /** The object, for messages: `node worker-1`. */
  readonly target: string;
}

/** How hard to try before reporting the API unreachable. */
export interface RetryPolicy {
  readonly clock: Clock;
  readonly log: Logger;
  /** Total time one call may take, retries included. */
  readonly deadlineMs: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** In [0, 1); injected so tests and the fleet benchmark are reproducible. */
  readonly random: () => number;
}

/** How an API failure is handled: the sum type the retry loop switches on. */
export type FailureClass =
  | { readonly kind: 'conflict' }
  | { readonly kind: 'not-found' }
  | { readonly kind: 'forbidden'; readonly status: 401 | 403 }
  | { readonly kind: 'transient'; readonly retryAfterMs: number | undefined; readonly what: string }
  | { readonly kind: 'fatal'; readonly what: string };

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

function networkCode(error: unknown): string | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
    if (current.message === 'fetch failed' && current.cause === undefined) return 'fetch failed';
  }
  return undefined;
}

/** Seconds (the API server's form) or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

/**
 * Sorts a thrown value from @kubernetes/client-node (ApiException carries `code`, `body`, `headers`;
 * a dropped connection surfaces as undici's `fetch failed` with a socket error as its cause).
 */
export function classifyFailure(error: unknown, nowMs: number): FailureClass {
  const status = (error as { code?: unknown }).code;
  if (typeof status === 'number' && status >= 100 && status < 600) {
    if (status === 409) return { kind: 'conflict' };
    if (status === 404) return { kind: 'not-found' };
    if (status === 401 || status === 403) return { kind: 'forbidden', status };
    const headers = (error as { headers?: Record<string, string> }).headers ?? {};
    if (status === 429)
      return {
        kind: 'transient',
        retryAfterMs: parseRetryAfter(headers['retry-after'], nowMs),
        what: 'HTTP 429 (rate limited)',
      };
    if (status >= 500)
      return {
        kind: 'transient',
        retryAfterMs: parseRetryAfter(headers['retry-after'], nowMs),
        what: `HTTP ${status}`,
      };
    return { kind: 'fatal', what: `HTTP ${status}: ${statusMessage(error)}` };
  }
  const code = networkCode(error);
  if (code !== undefined) return { kind: 'transient', retryAfterMs: undefined, what: `connection failed (${code})` };
  return { kind: 'fatal', what: error instanceof Error ? error.message : String(error) };
}

function statusMessage(error: unknown): string {
  const body = (error as { body?: unknown }).body;
  const parsed =
    typeof body === 'string'
      ? (() => {
          try {
            return JSON.parse(body) as unknown;
          } catch {
            return body;
          }
        })()
      : body;
  const message = (parsed as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' ? message : error instanceof Error ? error.message : String(error);
}

function forbidden(spec: ApiCallSpec, status: 401 | 403, cause: unknown): KataDeployError {
  if (status === 401) {
    return new KataDeployError(
      'kube-api',
      `the API server did not accept our credentials to ${spec.verb} ${spec.target}`,
      {
        hint: 'check the ServiceAccount token (in a pod) or the kubeconfig user (on bare metal)',
        cause,
      },
    );
  }
  return new KataDeployError(
    'kube-api',
    `RBAC forbids verb "${spec.verb}" on resource "${spec.resource}" (${spec.target})`,
    {
      hint:
        `add verb "${spec.verb}" on "${spec.resource}" to the kata-deploy ClusterRole (daemonset.yaml) and ` +
        `restart the pod`,
      cause,
    },
  );
}

/**
 * Runs one API call, retrying 429 (after Retry-After), 5xx and dropped connections with exponential
 * backoff and full jitter until the deadline. A 409 becomes ConflictError for the caller to re-read
 * and re-decide; 401/403 become a kube-api error naming the missing RBAC verb; 404 is returned as
 * `undefined` only when `allowNotFound`.
 */
export async function callApi<T>(
  spec: ApiCallSpec,
  policy: RetryPolicy,
  call: () => Promise<T>,
  allowNotFound = false,
): Promise<T | undefined> {
  const start = policy.clock.now();
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await call();
    } catch (error) {
      const failure = classifyFailure(error, policy.clock.now());
      switch (failure.kind) {
        case 'conflict':
          throw new ConflictError(`${spec.target} changed since it was read`, { cause: error });
        case 'not-found':
          if (allowNotFound) return undefined;
          throw new KataDeployError('kube-api', `${spec.target} does not exist`, {
            hint: 'check NODE_NAME (the downward API spec.nodeName) and the namespace',
            cause: error,
          });
        case 'forbidden':
          throw forbidden(spec, failure.status, error);
        case 'fatal':
          throw new KataDeployError('kube-api', `${spec.verb} ${spec.target} failed: ${failure.what}`, {
            hint: 'see the API server response above; nothing was retried',
            cause: error,
          });
        case 'transient': {
          const backoff = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1)) * policy.random();
          const delay = Math.max(failure.retryAfterMs ?? 0, backoff);
          const elapsed = policy.clock.now() - start;
          if (elapsed + delay > policy.deadlineMs) {
            throw new KataDeployError(
              'kube-api',
              `${spec.verb} ${spec.target} still failing after ${attempt} attempts in ${Math.round(elapsed / 1000)} ` +
                `s: ${failure.what}`,
              {
                hint: 'the API server is unreachable or overloaded; the pod restarts and tries again',
                cause: error,
              },
            );
          }
          policy.log.debug(
            { attempt, delayMs: Math.round(delay), failure: failure.what },
            `retrying ${spec.verb} ${spec.target}`,
          );
          await policy.clock.sleep(delay);
        }
      }
    }
  }
}
