import type { V1RuntimeClass } from '@kubernetes/client-node';
import { handlerName } from '../core/handlers.js';
import { SHIM_CATALOGUE } from '../core/shims.js';
import type { Settings } from '../settings/settings.js';
import { KATA_RUNTIME_LABEL, markLabel, READY } from './labels.js';
import { podFixedFor, type GuestSize } from './overhead.js';

/** Labels that mark a RuntimeClass as ours: what teardown selects on, and what we agree to update. */
export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'kata-deploy' } as const;
/** Which install a RuntimeClass belongs to, so installs with different suffixes never touch each other's. */
export const INSTANCE_LABEL = 'kata-deploy.katacontainers.io/instance';

/** The settings that decide which RuntimeClasses exist. */
export type RuntimeClassSettings = Pick<
  Settings,
  'shims' | 'defaultShim' | 'multiInstallSuffix' | 'createRuntimeClasses' | 'createDefaultRuntimeClass'
> &
  Partial<Pick<Settings, 'upstream'>>;

/** The label selector that finds the RuntimeClasses of one install. */
export function ourSelector(suffix: string | undefined): string {
  return `app.kubernetes.io/managed-by=kata-deploy,${INSTANCE_LABEL}=${suffix ?? 'default'}`;
}

function runtimeClass(
  name: string,
  handler: string,
  guest: GuestSize,
  shim: string,
  suffix: string | undefined,
): V1RuntimeClass {
  const info = SHIM_CATALOGUE.get(shim);
  if (info === undefined) throw new Error(`shim ${shim} missing from the catalogue`);
  return {
    apiVersion: 'node.k8s.io/v1',
    kind: 'RuntimeClass',
    metadata: { name, labels: { ...MANAGED_BY, [INSTANCE_LABEL]: suffix ?? 'default' } },
    handler,
    overhead: { podFixed: { ...podFixedFor(guest, info.hypervisor) } },
    // Both labels: the shared one says the node runs Kata, our mark that *this* install is finished
    // there, so removing one install from a node stops its pods landing there while others stay.
    scheduling: { nodeSelector: { [KATA_RUNTIME_LABEL]: READY, [markLabel(suffix)]: READY } },
  };
}

/**
 * The RuntimeClasses an install wants: `kata-<shim>[-<suffix>]` per selected shim (named like its
 * containerd handler) and, when asked, `kata[-<suffix>]` for the default shim. Pure: guest sizes come
 * in as values read from each shim's Kata config.
 */
export function desiredRuntimeClasses(
  settings: RuntimeClassSettings,
  guests: ReadonlyMap<string, GuestSize>,
): V1RuntimeClass[] {
  if (!settings.createRuntimeClasses && !settings.createDefaultRuntimeClass) return [];
  const suffix = settings.multiInstallSuffix;
  const guestOf = (shim: string): GuestSize => {
    const guest = guests.get(shim);
    if (guest === undefined) throw new Error(`no guest size read for shim ${shim}`);
    return guest;
  };
  const classes: V1RuntimeClass[] = [];
  if (settings.createRuntimeClasses) {
    for (const shim of settings.shims) {
      const handler = handlerName(shim, suffix, false);
      classes.push(runtimeClass(handler, handler, guestOf(shim), shim, suffix));
    }
  }
  if (settings.createRuntimeClasses) {
    for (const custom of settings.upstream?.customRuntimes ?? [])
      classes.push(runtimeClass(custom.handler, custom.handler, guestOf(custom.handler), custom.baseShim, suffix));
  }
  if (settings.createDefaultRuntimeClass) {
    const name = suffix === undefined ? 'kata' : `kata-${suffix}`;
    classes.push(
      runtimeClass(
        name,
        handlerName(settings.defaultShim, suffix, false),
        guestOf(settings.defaultShim),
        settings.defaultShim,
        suffix,
      ),
    );
  }
  return classes.map((rc) => withOverheadOverride(rc, settings.upstream?.runtimeClassOverhead.get(rc.handler)));
}

/** The operator's RUNTIMECLASS_OVERHEAD values over the derived PodOverhead, key by key. */
function withOverheadOverride(
  rc: V1RuntimeClass,
  override: Readonly<Record<'memory' | 'cpu', string | undefined>> | undefined,
): V1RuntimeClass {
  if (override === undefined) return rc;
  const podFixed = { ...rc.overhead?.podFixed };
  if (override.memory !== undefined) podFixed.memory = override.memory;
  if (override.cpu !== undefined) podFixed.cpu = override.cpu;
  return { ...rc, overhead: { podFixed } };
}

/** What to do about one RuntimeClass, given what the cluster has. */
export type RuntimeClassAction =
  | { readonly kind: 'create'; readonly desired: V1RuntimeClass }
  | { readonly kind: 'update'; readonly desired: V1RuntimeClass; readonly resourceVersion: string }
  | { readonly kind: 'unchanged' }
  /** A RuntimeClass of that name exists without our labels: an operator's, which we never overwrite. */
  | { readonly kind: 'foreign' };

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(sorted(a)) === JSON.stringify(sorted(b));
}

function sorted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sorted);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => [k, sorted(v)]),
  );
}

/**
 * Compare-then-update: every node computes the same object from the same payload and settings, so
 * only the first node writes and the rest find it equal. Labels an operator added are kept.
 */
export function decideRuntimeClass(desired: V1RuntimeClass, current: V1RuntimeClass | undefined): RuntimeClassAction {
  if (current === undefined) return { kind: 'create', desired };
  const labels = current.metadata?.labels ?? {};
  if (labels['app.kubernetes.io/managed-by'] !== 'kata-deploy') return { kind: 'foreign' };
  const wantedLabels = { ...labels, ...desired.metadata?.labels };
  if (
    current.handler === desired.handler &&
    same(current.overhead, desired.overhead) &&
    same(current.scheduling, desired.scheduling) &&
    same(labels, wantedLabels)
  ) {
    return { kind: 'unchanged' };
  }
  return {
    kind: 'update',
    desired: { ...desired, metadata: { ...current.metadata, labels: wantedLabels } },
    resourceVersion: current.metadata?.resourceVersion ?? '',
  };
}
