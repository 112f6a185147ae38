import { grpcUnary } from './grpc-unary.js';
import { decodeFields, encodeBool, repeatedBytes, stringField, stringMap, varintField } from './protobuf.js';

/** One CRI runtime condition (RuntimeReady, NetworkReady, …) as the kubelet sees it. */
export interface RuntimeCondition {
  readonly type: string;
  readonly status: boolean;
  readonly reason: string;
  readonly message: string;
}

/** Where a live containerd handler's shim and Kata config are; empty when the handler names none. */
export interface LiveRuntime {
  readonly runtimePath: string;
  readonly configPath: string;
}

/** What CRI `RuntimeService/Status` says: the live runtime handlers are the proof our config loaded. */
export interface CriStatus {
  readonly runtimeReady: boolean;
  readonly conditions: readonly RuntimeCondition[];
  /** Runtime handler names the CRI plugin loaded, sorted. */
  readonly handlers: readonly string[];
  /** The shim and config path of each handler the live config shows (containerd only; CRI-O shows none). */
  readonly runtimes: ReadonlyMap<string, LiveRuntime>;
}

interface LiveRuntimeJson {
  readonly runtimePath?: unknown;
  readonly options?: { readonly ConfigPath?: unknown } | null;
}

function liveRuntime(json: LiveRuntimeJson | null | undefined): LiveRuntime {
  const text = (value: unknown) => (typeof value === 'string' ? value : '');
  return { runtimePath: text(json?.runtimePath), configPath: text(json?.options?.ConfigPath) };
}

/**
 * Reads a StatusResponse. Handlers come from `info["config"]` (the CRI plugin's live config as JSON,
 * `containerd.runtimes` in 1.6, 1.7 and 2.x alike) and, from 2.x on, also from the `runtime_handlers`
 * field; the empty name 2.x lists for the default handler is dropped.
 */
export function parseCriStatus(reply: Buffer): CriStatus {
  const fields = decodeFields(reply);
  const conditions = repeatedBytes(fields, 1)
    .flatMap((status) => repeatedBytes(decodeFields(status), 1))
    .map((bytes) => {
      const condition = decodeFields(bytes);
      return {
        type: stringField(condition, 1),
        status: varintField(condition, 2) !== 0,
        reason: stringField(condition, 3),
        message: stringField(condition, 4),
      };
    });
  const handlers = new Set<string>();
  const runtimes = new Map<string, LiveRuntime>();
  const config = stringMap(fields, 2).get('config');
  if (config !== undefined) {
    const live =
      (JSON.parse(config) as { containerd?: { runtimes?: Record<string, LiveRuntimeJson> } }).containerd?.runtimes ??
      {};
    for (const [name, runtime] of Object.entries(live)) {
      handlers.add(name);
      runtimes.set(name, liveRuntime(runtime));
    }
  }
  for (const handler of repeatedBytes(fields, 3)) {
    const name = stringField(decodeFields(handler), 1);
    if (name !== '') handlers.add(name);
  }
  return {
    runtimeReady: conditions.some((condition) => condition.type === 'RuntimeReady' && condition.status),
    conditions,
    handlers: [...handlers].sort(),
    runtimes,
  };
}

/** CRI `runtime.v1.RuntimeService/Status` with verbose=true, over containerd's socket. */
export async function criStatus(socketPath: string, timeoutMs = 3000): Promise<CriStatus> {
  return parseCriStatus(
    await grpcUnary(socketPath, '/runtime.v1.RuntimeService/Status', encodeBool(1, true), { timeoutMs }),
  );
}
