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
  const annotated: HandlerSpec[] = [];
  for (const handler of handlers) {
    const pristine = (await readPristine(handler.shim.name))?.toString('utf8') ?? '';
    const dir = path.posix.join(path.posix.dirname(handler.configPath), 'config.d');
    const plannedHere = [...planned.keys()].filter((file) => path.posix.dirname(file) === dir);
    const names = [...new Set([...(await namesIn(fs, dir)), ...plannedHere.map((file) => path.posix.basename(file))])]
      .filter((name) => name.endsWith('.toml'))
      .sort();
    const dropIns: string[] = [];
    for (const name of names) {
      const file = path.posix.join(dir, name);
      const bytes = planned.has(file) ? planned.get(file) : await fs.readIfExists(file);
      if (bytes !== undefined) dropIns.push(bytes.toString('utf8'));
    }
    const extras = [
      ...upstream.extraPodAnnotations,
      ...(upstream.shimExtraPodAnnotations.get(handler.shim.name) ?? []),
    ];
    annotated.push({ ...handler, podAnnotations: podAnnotationsFor(pristine, dropIns, extras) });
  }
  return annotated;
}
