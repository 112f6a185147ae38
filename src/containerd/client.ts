import { decodeFields, stringField, varintField } from './protobuf.js';
import { grpcUnary } from './grpc-unary.js';

/** The daemon's own account of its version, as `ctr version` prints it. */
export interface DaemonVersion {
  readonly version: string;
  readonly revision: string;
}

/** Asks a running containerd its version over its socket (containerd.services.version.v1). */
export async function containerdVersion(socketPath: string, timeoutMs = 3000): Promise<DaemonVersion> {
  const reply = decodeFields(
    await grpcUnary(socketPath, '/containerd.services.version.v1.Version/Version', Buffer.alloc(0), { timeoutMs }),
  );
  return { version: stringField(reply, 1), revision: stringField(reply, 2) };
}

/** gRPC health: true when containerd's server reports SERVING. Says nothing about the CRI plugin. */
export async function containerdServing(socketPath: string, timeoutMs = 3000): Promise<boolean> {
  const reply = decodeFields(
    await grpcUnary(socketPath, '/grpc.health.v1.Health/Check', Buffer.alloc(0), { timeoutMs }),
  );
  return varintField(reply, 1) === 1;
}
