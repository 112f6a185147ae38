import path from 'node:path';
import type { FlavourLayout } from './flavours.js';

/**
 * The runtime config upstream's CONTAINERD_CONFIG_DIR / CONTAINERD_CONFIG_FILE_NAME point at: the directory
 * replaces the flavour's config directory (the chart mounts it at /etc/containerd), the bare file name
 * replaces `config.toml` for vanilla containerd only (other distributions name their own files). CRI-O
 * reads neither.
 */
export function upstreamConfigPath(
  layout: FlavourLayout,
  dir: string | undefined,
  fileName: string | undefined,
): string {
  if (layout.flavour === 'crio') return layout.configPath;
  const name =
    layout.flavour === 'containerd' && fileName !== undefined ? fileName : path.posix.basename(layout.configPath);
  return path.posix.join(dir ?? path.posix.dirname(layout.configPath), name);
}
