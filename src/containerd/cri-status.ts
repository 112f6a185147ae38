import { grpcUnary } from './grpc-unary.js';
import { decodeFields, encodeBool, repeatedBytes, stringField, stringMap, varintField } from './protobuf.js';

/** One CRI runtime condition (RuntimeReady, NetworkReady, …) as the kubelet sees it. */
export interface RuntimeCondition {
  readonly type: string;
  readonly status: boolean;
  readonly reason: string;
  readonly message: string;
}

/** What CRI `RuntimeService/Status` says: the live runtime handlers are the proof our config loaded. */
export interface CriStatus {
  readonly runtimeReady: boolean;
  readonly conditions: readonly RuntimeCondition[];
  /** Runtime handler names the CRI plugin loaded, sorted. */
  readonly handlers: readonly string[];
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
  const config = stringMap(fields, 2).get('config');
  if (config !== undefined) {
    const runtimes =
      (JSON.parse(config) as { containerd?: { runtimes?: Record<string, unknown> } }).containerd?.runtimes ?? {};
    for (const name of Object.keys(runtimes)) handlers.add(name);
  }
  for (const handler of repeatedBytes(fields, 3)) {
    const name = stringField(decodeFields(handler), 1);
    if (name !== '') handlers.add(name);
  }
  return {
    runtimeReady: conditions.some((condition) => condition.type === 'RuntimeReady' && condition.status),
    conditions,
    handlers: [...handlers].sort(),
  };
}

/** CRI `runtime.v1.RuntimeService/Status` with verbose=true, over containerd's socket. */
export async function criStatus(socketPath: string, timeoutMs = 3000): Promise<CriStatus> {
  return parseCriStatus(
    await grpcUnary(socketPath, '/runtime.v1.RuntimeService/Status', encodeBool(1, true), { timeoutMs }),
  );
}
