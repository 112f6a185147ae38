import path from 'node:path';
import type { FileChange } from '../../core/file-change.js';
import type { HandlerSpec } from '../../core/handlers.js';
import type { HostFs } from '../../host/host-fs.js';
import type { UpstreamSettings } from '../../settings/upstream-settings.js';
import { podAnnotationsFor } from './pod-annotations.js';

async function namesIn(fs: HostFs, dir: string): Promise<string[]> {
  try {
    return await fs.readdir(dir);
  } catch {
    return [];
  }
}

/**
 * The handlers with their containerd `pod_annotations` filled in from the Kata config each will read once
 * the planned Kata-config changes are applied: the shim's pristine file, then `config.d/*.toml` in name
 * order — our planned drop-ins as they will be, an operator's as they are.
 */
export async function withPodAnnotations(
  handlers: readonly HandlerSpec[],
  kataChanges: readonly FileChange[],
  readPristine: (shim: string) => Promise<Buffer | undefined>,
  fs: HostFs,
  upstream: Pick<UpstreamSettings, 'extraPodAnnotations' | 'shimExtraPodAnnotations'>,
): Promise<HandlerSpec[]> {
  const planned = new Map(kataChanges.map((change) => [change.path, change.after]));
  // Every handler's files are read at once: one by one, each await is a thread-pool round trip.
  return Promise.all(
    handlers.map(async (handler) => {
      const pristine = (await readPristine(handler.shim.name))?.toString('utf8') ?? '';
      const dir = path.posix.join(path.posix.dirname(handler.configPath), 'config.d');
      const plannedHere = [...planned.keys()].filter((file) => path.posix.dirname(file) === dir);
      const names = [...new Set([...(await namesIn(fs, dir)), ...plannedHere.map((file) => path.posix.basename(file))])]
        .filter((name) => name.endsWith('.toml'))
        .sort();
      const dropIns = await Promise.all(
        names.map((name) => {
          const file = path.posix.join(dir, name);
          return planned.has(file) ? planned.get(file) : fs.readIfExists(file);
        }),
      );
      const extras = [
        ...upstream.extraPodAnnotations,
        ...(upstream.shimExtraPodAnnotations.get(handler.shim.name) ?? []),
      ];
      const texts = dropIns.filter((bytes) => bytes !== undefined).map((bytes) => bytes.toString('utf8'));
      return { ...handler, podAnnotations: podAnnotationsFor(pristine, texts, extras) };
    }),
  );
}
