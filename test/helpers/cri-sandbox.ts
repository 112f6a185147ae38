import { grpcUnary } from '../../src/containerd/grpc-unary.js';
import {
  decodeFields,
  encodeBytes as bytesField,
  encodeVarint as varintField,
  stringField,
} from '../../src/containerd/protobuf.js';

/** NamespaceMode.NODE in the CRI API: the pod shares the host's network namespace (no CNI needed). */
const NAMESPACE_MODE_NODE = 2;

/**
 * A CRI RunPodSandboxRequest as the kubelet sends it for a hostNetwork pod with `runtimeClassName`
 * mapping to `handler`: metadata, hostname, log directory, node network namespace, runtime handler.
 */
export function runPodSandboxRequest(name: string, handler: string, logDirectory: string): Buffer {
  const metadata = Buffer.concat([
    bytesField(1, name),
    bytesField(2, `uid-${name}`),
    bytesField(3, 'default'),
    varintField(4, 0),
  ]);
  const namespaceOptions = varintField(1, NAMESPACE_MODE_NODE);
  const securityContext = bytesField(1, namespaceOptions);
  const linux = bytesField(2, securityContext);
  const config = Buffer.concat([
    bytesField(1, metadata),
    bytesField(2, name),
    bytesField(3, logDirectory),
    bytesField(8, linux),
  ]);
  return Buffer.concat([bytesField(1, config), bytesField(2, handler)]);
}

/** What a RunPodSandbox call returned: the sandbox id, or the error containerd gave. */
export type SandboxOutcome =
  | { readonly ok: true; readonly id: string }
  | { readonly ok: false; readonly error: string };

/** Calls CRI `RuntimeService/RunPodSandbox` over containerd's socket, as the kubelet does. */
export async function runPodSandbox(
  socket: string,
  name: string,
  handler: string,
  logDirectory: string,
): Promise<SandboxOutcome> {
  try {
    const reply = await grpcUnary(
      socket,
      '/runtime.v1.RuntimeService/RunPodSandbox',
      runPodSandboxRequest(name, handler, logDirectory),
      { timeoutMs: 20_000 },
    );
    return { ok: true, id: stringField(decodeFields(reply), 1) };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}

/**
 * Waits until CRI `ImageService/ImageStatus` knows `image`. containerd's CRI plugin fills its image cache
 * in the background after a (re)start and from image events after an import, so a RunPodSandbox sent
 * too early tries to pull the sandbox image instead. Resolves false when `timeoutMs` passes first.
 */
export async function waitForCriImage(socket: string, image: string, timeoutMs: number): Promise<boolean> {
  const request = bytesField(1, bytesField(1, image));
  const until = Date.now() + timeoutMs;
  for (;;) {
    const reply = await grpcUnary(socket, '/runtime.v1.ImageService/ImageStatus', request, { timeoutMs: 5000 }).catch(
      () => undefined,
    );
    if (reply !== undefined && decodeFields(reply).some((field) => field.field === 1)) return true;
    if (Date.now() > until) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
