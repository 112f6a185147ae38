// Reads the rendered daemonset.yaml as the API server would store it. js-yaml, not the client's
// loadAllYaml: that one maps objects onto the client's model classes, which silently drop every field
// they do not know, and the stand-in must see every field to refuse the ones it cannot honour.
import { readFileSync } from 'node:fs';
import { loadAll } from 'js-yaml';

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML of any Kubernetes kind
type Obj = Record<string, any>;

/** The repository's rendered manifest. */
export const RENDERED_MANIFEST = new URL('../../../daemonset.yaml', import.meta.url).pathname;

/** Every object of a multi-document manifest. */
export function readManifest(file: string = RENDERED_MANIFEST): Obj[] {
  return (loadAll(readFileSync(file, 'utf8')) as (Obj | null)[]).filter((doc): doc is Obj => doc !== null);
}

/** The one DaemonSet in the manifest; anything else is a manifest this stand-in was not written for. */
export function daemonSetOf(objects: readonly Obj[]): Obj {
  const found = objects.filter((object) => object.kind === 'DaemonSet');
  if (found.length !== 1) throw new Error(`expected one DaemonSet in the manifest, found ${found.length}`);
  return structuredClone(found[0]!);
}

/** `kubectl set image`: the same DaemonSet with its container's image (and so its pod template) changed. */
export function withImage(daemonSet: Obj, image: string): Obj {
  const next = structuredClone(daemonSet);
  next.spec.template.spec.containers[0].image = image;
  return next;
}
