import { grpcUnary } from './grpc-unary.js';
import { decodeFields, repeatedBytes, stringField } from './protobuf.js';

/** One containerd plugin and, if it failed to initialise, why. */
export interface PluginInfo {
  readonly type: string;
  readonly id: string;
  readonly initError: string | undefined;
}

/** Reads an Introspection PluginsResponse (plugins = 1; type = 1, id = 2, init_err = 7 {message = 2}). */
export function parsePlugins(reply: Buffer): PluginInfo[] {
  return repeatedBytes(decodeFields(reply), 1).map((bytes) => {
    const plugin = decodeFields(bytes);
    const error = repeatedBytes(plugin, 7)[0];
    return {
      type: stringField(plugin, 1),
      id: stringField(plugin, 2),
      initError: error === undefined ? undefined : stringField(decodeFields(error), 2),
    };
  });
}

/**
 * The CRI plugins, root cause first: 2.x splits CRI into `io.containerd.cri.v1/runtime` and `/images`
 * under the `io.containerd.grpc.v1/cri` service, whose own error only says a dependency failed;
 * 1.6 and 1.7 have the single `io.containerd.grpc.v1/cri`.
 */
const CRI_PLUGINS = ['io.containerd.cri.v1/runtime', 'io.containerd.cri.v1/images', 'io.containerd.grpc.v1/cri'];

/**
 * Why the CRI plugin is not serving, from the plugin list: its init error, a note that it is not
 * loaded at all (disabled_plugins), or undefined when it initialised.
 */
export function criPluginProblem(plugins: readonly PluginInfo[]): string | undefined {
  const cri = CRI_PLUGINS.map((key) => plugins.find((plugin) => `${plugin.type}/${plugin.id}` === key)).filter(
    (plugin) => plugin !== undefined,
  );
  if (cri.length === 0) return 'the CRI plugin (io.containerd.grpc.v1 cri) is not loaded; is it in disabled_plugins?';
  const failed = cri.find((plugin) => plugin.initError !== undefined && plugin.initError !== '');
  return failed === undefined
    ? undefined
    : `CRI plugin ${failed.type} ${failed.id} failed to initialise: ${failed.initError}`;
}

/** `containerd.services.introspection.v1.Introspection/Plugins`, unfiltered. */
export async function containerdPlugins(socketPath: string, timeoutMs = 3000): Promise<PluginInfo[]> {
  return parsePlugins(
    await grpcUnary(socketPath, '/containerd.services.introspection.v1.Introspection/Plugins', Buffer.alloc(0), {
      timeoutMs,
    }),
  );
}
