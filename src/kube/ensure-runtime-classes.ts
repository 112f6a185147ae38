import type { V1RuntimeClass } from '@kubernetes/client-node';
import { KataDeployError } from '../core/errors.js';
import { handlersFor } from '../core/handlers.js';
import { SHIM_CATALOGUE, shimConfigRelPath } from '../core/shims.js';
import type { Clock } from '../host/clock.js';
import type { HostFs } from '../host/host-fs.js';
import type { Logger } from '../host/logger.js';
import type { Settings } from '../settings/settings.js';
import { ConflictError, type KubePort } from './kube-port.js';
import { customHandlers } from '../core/custom-handlers.js';
import { guestSizeFromConfig, guestSizeWithOverrides, type GuestSize } from './overhead.js';
import { decideRuntimeClass, ourSelector } from './runtime-classes.js';

const ATTEMPTS = 5;

/**
 * How long a node that lost a creation race waits before re-listing: long enough for the winner to
 * create the rest (milliseconds each), so a fleet starting at once does not re-list once per class.
 */
export const RACE_BACKOFF_MS = 1_000;

/** What ensureRuntimeClasses did, per RuntimeClass name. */
export type RuntimeClassReport = Record<string, 'created' | 'updated' | 'unchanged' | 'foreign'>;

/**
 * Reads each selected shim's guest size from the Kata config its handler uses (our per-handler copy,
 * else the payload's pristine file), so PodOverhead follows the config rather than a static table.
 */
export async function readGuestSizes(
  fs: HostFs,
  settings: Pick<Settings, 'shims' | 'multiInstallSuffix' | 'debug' | 'installDir' | 'snapshotterHandlerMapping'> &
    Partial<Pick<Settings, 'upstream'>>,
): Promise<Map<string, GuestSize>> {
  const sizes = new Map<string, GuestSize>();
  for (const handler of handlersFor({ ...settings, debug: false })) {
    const info = SHIM_CATALOGUE.get(handler.shim.name)!;
    const candidates = [handler.configPath, `${settings.installDir}/${shimConfigRelPath(info)}`];
    let text: Buffer | undefined;
    let found = '';
    for (const candidate of candidates) {
      text = await fs.readIfExists(candidate);
      found = candidate;
      if (text !== undefined) break;
    }
    if (text === undefined) {
      throw new KataDeployError(
        'bad-payload',
        `no Kata configuration for shim ${handler.shim.name} at ${candidates.join(' or ')}`,
        {
          hint:
            `install first; RuntimeClass overhead is read from the shim's config ` +
            `(${handler.configPath.slice(0, handler.configPath.lastIndexOf('/'))})`,
        },
      );
    }
    sizes.set(handler.shim.name, guestSizeFromConfig(text.toString('utf8'), found));
  }
  for (const handler of customHandlers(
    settings.installDir,
    settings.upstream?.customRuntimes ?? [],
    settings.multiInstallSuffix,
  )) {
    const dir = handler.configPath.slice(0, handler.configPath.lastIndexOf('/'));
    const base = await fs.readIfExists(handler.configPath);
    if (base === undefined)
      throw new KataDeployError('bad-payload', `no Kata configuration for custom runtime ${handler.name}`, {
        hint: `install first; its RuntimeClass overhead is read from ${handler.configPath}`,
      });
    const overrides = (await fs.readIfExists(`${dir}/config.d/50-overrides.toml`))?.toString('utf8');
    sizes.set(handler.name, guestSizeWithOverrides(base.toString('utf8'), overrides, handler.configPath));
  }
  return sizes;
}

/**
 * Creates or updates our RuntimeClasses idempotently: one LIST of ours, then writes only for what
 * differs. When a whole fleet starts at once every node finds the list empty; the first write that
 * loses to another node (409 AlreadyExists or Conflict) re-lists once and decides every remaining class
 * from that after a pause (RACE_BACKOFF_MS), so a node costs about three requests however many classes
 * there are, not two per class.
 * A name missing from our list after a conflict belongs to someone else: one GET confirms it. Never
 * deletes: one node's uninstall must not take the RuntimeClasses from the rest of the cluster.
 */
export async function ensureRuntimeClasses(
  kube: KubePort,
  desired: readonly V1RuntimeClass[],
  suffix: string | undefined,
  log: Logger,
  clock: Clock,
): Promise<RuntimeClassReport> {
  const report: RuntimeClassReport = {};
  if (desired.length === 0) return report;
  const list = async () =>
    new Map((await kube.listRuntimeClasses(ourSelector(suffix))).map((rc) => [rc.metadata?.name ?? '', rc]));
  let existing = await list();
  for (const wanted of desired) {
    const name = wanted.metadata!.name!;
    let current = existing.get(name);
    for (let attempt = 1; ; attempt += 1) {
      const action = decideRuntimeClass(wanted, current);
      try {
        if (action.kind === 'create') await kube.createRuntimeClass(action.desired);
        else if (action.kind === 'update')
          await kube.replaceRuntimeClass({
            ...action.desired,
            metadata: { ...action.desired.metadata, resourceVersion: action.resourceVersion },
          });
        else if (action.kind === 'foreign')
          log.warn(
            { runtimeClass: name },
            `RuntimeClass ${name} exists and is not managed by kata-deploy; leaving it as it is`,
          );
        report[name] = ({ create: 'created', update: 'updated', unchanged: 'unchanged', foreign: 'foreign' } as const)[
          action.kind
        ];
        if (action.kind === 'create' || action.kind === 'update')
          log.info({ runtimeClass: name, overhead: wanted.overhead?.podFixed }, `RuntimeClass ${name} ${report[name]}`);
        break;
      } catch (error) {
        if (!(error instanceof ConflictError) || attempt >= ATTEMPTS) throw error;
        await clock.sleep(RACE_BACKOFF_MS * attempt);
        existing = await list();
        current = existing.get(name) ?? (await kube.getRuntimeClass(name));
      }
    }
  }
  return report;
}
