import { V1MicroTime, type V1Lease } from '@kubernetes/client-node';
import { asKataDeployError, KataDeployError } from '../core/errors.js';
import type { Clock } from '../host/clock.js';
import type { Logger } from '../host/logger.js';
import { ConflictError } from './kube-port.js';
import type { LeasePort } from './lease-port.js';
import { chooseHomeSlot, chooseSlot, freeSlotCount, homeSlot, SLOT_PREFIX, takerRank } from './restart-slots.js';
import { slotLeaseBody, slotLeaseOf } from './slot-lease.js';
import { type SlotAttempt, type SlotWaitPorts, waitForSlot } from './slot-waiter.js';

/** How a node holds a slot: long enough to outlive an API server restart on a k3s/rke2 server. */
export const LEASE_DURATION_MS = 60_000;
/** A third of the duration: two renewals may fail before the claim lapses. */
export const RENEW_EVERY_MS = 20_000;
/** Between LISTs of the slots while they cannot be watched: from 5 s up to 30 s (restart-slots pollDelay). */
export const POLL_MS = 5_000;
export const MAX_POLL_MS = 30_000;
/**
 * The first spread for the waiters woken by one release: each tries at its ring place (takerRank) times
 * the spread, and only those whose moment comes before the winner's write reaches them over the watch
 * write at all (slot-waiter.ts); the spread then follows the hand-overs seen (nextRacePace).
 */
export const RACE_SPREAD_MS = 2_000;

/** Seams for tests and the fleet benchmark; production uses the defaults above and Math.random. */
export interface RestartBudgetOptions {
  readonly clock: Clock;
  readonly log: Logger;
  readonly random?: () => number;
  /** Where in the race spread to write after a holder let go; takerRank of our name unless set. */
  readonly rankAfter?: (previousHolder: string | undefined) => number;
  readonly leaseDurationMs?: number;
  readonly renewEveryMs?: number;
  readonly pollMs?: number;
  readonly maxPollMs?: number;
  readonly raceSpreadMs?: number;
}

/** One node's hold on the cluster's restart budget: taken before a restart, given back once live. */
export interface RestartBudget {
  readonly budget: number;
  /** Waits for a slot (or renews the one we hold); throws kube-api when the API cannot be reached. */
  acquire(): Promise<void>;
  /** Gives the slot back (deletes our Lease); never throws: a Lease left behind expires. */
  release(): Promise<void>;
  /** The slot held now, or undefined. */
  held(): number | undefined;
}

/**
 * The restart budget over `kata-deploy-restart-<k>` Leases. A node first creates its home slot without
 * reading (one request when it is free); when that exists it lists the slots, decides (chooseSlot, pure:
 * its home slot first, else any free one) and writes with a resourceVersion precondition, so of two nodes
 * racing for one slot exactly one wins and the other lists again. While it holds a slot it renews it;
 * when none is free it watches its home slot only (slot-waiter.ts) and says who holds it.
 */
export function restartBudget(
  leases: LeasePort,
  nodeName: string,
  budget: number,
  options: RestartBudgetOptions,
): RestartBudget {
  const { clock, log } = options;
  const random = options.random ?? Math.random;
  const durationMs = options.leaseDurationMs ?? LEASE_DURATION_MS;
  let current: V1Lease | undefined;
  let renewer: ReturnType<typeof setInterval> | undefined;
  let renewing: Promise<void> = Promise.resolve();
  let sweeping: Promise<void> = Promise.resolve();

  const body = (slot: number, transitions: number, resourceVersion?: string): V1Lease =>
    slotLeaseBody(
      { namespace: leases.namespace, nodeName, slot, durationMs, nowMs: clock.now(), transitions },
      resourceVersion,
    );

  const renew = async (): Promise<void> => {
    if (current === undefined) return;
    const next: V1Lease = {
      ...current,
      spec: { ...current.spec, renewTime: new V1MicroTime(clock.now()) },
    };
    try {
      current = await leases.replace(next);
    } catch (error) {
      const lost = error instanceof ConflictError;
      log.warn(
        { lease: current.metadata?.name, error: asKataDeployError(error).message },
        lost
          ? 'our restart slot was taken over (we did not renew it in time); finishing the restart under way'
          : 'could not renew our restart slot; it lapses if this goes on',
      );
      if (lost) stopRenewing();
    }
  };
  const stopRenewing = () => {
    if (renewer !== undefined) clearInterval(renewer);
    renewer = undefined;
  };
  const hold = (lease: V1Lease) => {
    current = lease;
    log.info({ lease: lease.metadata?.name, budget }, 'holding a restart slot');
    renewer ??= setInterval(() => {
      renewing = renewing.then(renew);
    }, options.renewEveryMs ?? RENEW_EVERY_MS);
    renewer.unref();
  };

  const attempt: SlotAttempt = async (choice, lease) => {
    const transitions = lease?.spec?.leaseTransitions ?? 0;
    try {
      if (choice.kind === 'create') hold(await leases.create(body(choice.slot, 0)));
      else if (choice.kind === 'held')
        hold(await leases.replace(body(choice.slot, transitions, choice.resourceVersion)));
      else {
        if (choice.previousHolder)
          log.info({ slot: choice.slot, previousHolder: choice.previousHolder }, 'taking over an expired restart slot');
        hold(await leases.replace(body(choice.slot, transitions + 1, choice.resourceVersion)));
      }
      return 'held';
    } catch (error) {
      if (error instanceof ConflictError) return 'lost';
      throw error;
    }
  };

  const home = homeSlot(nodeName, budget);
  const pollMs = options.pollMs ?? POLL_MS;
  const waitPorts: SlotWaitPorts = {
    clock,
    log,
    random,
    slotName: `${SLOT_PREFIX}${home}`,
    rank: options.rankAfter ?? ((previousHolder) => takerRank(nodeName, previousHolder)),
    distance: (previousHolder, taker) => takerRank(taker, previousHolder),
    pollMs,
    maxPollMs: options.maxPollMs ?? Math.max(pollMs, MAX_POLL_MS),
    raceSpreadMs: options.raceSpreadMs ?? RACE_SPREAD_MS,
    viewOf: slotLeaseOf,
    decide: (views) =>
      chooseHomeSlot(
        views.find((view) => view.slot === home),
        home,
        nodeName,
        clock.now(),
      ),
  };

  const acquire = async (): Promise<void> => {
    if (current !== undefined) return;
    try {
      // First the home slot without reading: one request when it is free (most nodes of a small cluster).
      try {
        hold(await leases.create(body(home, 0)));
        if (budget > 1) sweeping = sweepEarlierSlots(home);
        return;
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
      }
      // A lost write means another node took that slot: list again only if the last LIST showed another.
      let listed = await leases.listSlots();
      let lostOn: string | undefined;
      for (let round = 0; round < budget; round += 1) {
        const views = listed.items.flatMap((lease) => slotLeaseOf(lease) ?? []);
        const choice = chooseSlot(views, budget, nodeName, clock.now(), random(), home);
        if (choice.kind === 'wait') break;
        const name = `${SLOT_PREFIX}${choice.slot}`;
        if (
          (await attempt(
            choice,
            listed.items.find((item) => item.metadata?.name === name),
          )) === 'held'
        )
          return;
        lostOn = name;
        if (freeSlotCount(views, budget, clock.now()) <= 1) break;
        listed = await leases.listSlots();
        lostOn = undefined;
      }
      await waitForSlot(leases, attempt, waitPorts, { listed, lostOn });
    } catch (error) {
      const failure = asKataDeployError(error);
      throw new KataDeployError(
        'kube-api',
        `could not take a restart slot (Lease ${SLOT_PREFIX}<k> in namespace ${leases.namespace}): ` +
          `${failure.message}; the runtime was not restarted`,
        {
          hint:
            'the restart budget needs the API server; the pod retries when it restarts (--restart-budget 0 ' +
            'restarts without one)',
          cause: error,
        },
      );
    }
  };

  /**
   * After a create that did not read: a Lease of ours on another slot is left from an earlier run of
   * this node (its pod restarted while it held a slot other than its home). It would keep that slot from
   * the others until it lapses; give it back, beside the restart and never failing it.
   */
  const sweepEarlierSlots = async (kept: number): Promise<void> => {
    try {
      const listed = await leases.listSlots();
      for (const lease of listed.items) {
        const view = slotLeaseOf(lease);
        if (view === undefined || view.holder !== nodeName || view.slot === kept || view.slot >= budget) continue;
        await leases.remove(lease.metadata?.name ?? '', view.resourceVersion);
        log.info({ lease: lease.metadata?.name }, 'gave back a restart slot left from an earlier run of this node');
      }
    } catch (error) {
      log.warn(
        { error: asKataDeployError(error).message },
        'could not check for restart slots left from an earlier run of this node; such a slot lapses by itself',
      );
    }
  };

  const release = async (): Promise<void> => {
    stopRenewing();
    await sweeping;
    await renewing;
    const lease = current;
    current = undefined;
    if (lease === undefined) return;
    try {
      await leases.remove(lease.metadata?.name ?? '', lease.metadata?.resourceVersion ?? '');
      log.info({ lease: lease.metadata?.name }, 'released the restart slot');
    } catch (error) {
      log.warn(
        { lease: lease.metadata?.name, error: asKataDeployError(error).message },
        'could not release the restart slot; it expires by itself',
      );
    }
  };

  return {
    budget,
    acquire,
    release,
    held: () => {
      const view = current === undefined ? undefined : slotLeaseOf(current);
      return view?.slot;
    },
  };
}
