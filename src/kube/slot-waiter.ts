import type { V1Lease } from '@kubernetes/client-node';
import { asKataDeployError } from '../core/errors.js';
import type { Clock } from '../host/clock.js';
import type { Logger } from '../host/logger.js';
import type { LeasePort, SlotList, SlotWatchEnd } from './lease-port.js';
import {
  nextRacePace,
  type RacePace,
  pollDelay,
  type SlotChoice,
  type SlotLease,
  SLOT_PREFIX,
  slotExpired,
} from './restart-slots.js';

/** A choice that writes: the slot is ours to take if our write wins. */
export type SlotAttemptChoice = Exclude<SlotChoice, { kind: 'wait' }>;

/** Writes a chosen slot: 'held' once ours, 'lost' on a 409 (another node was faster). */
export type SlotAttempt = (choice: SlotAttemptChoice, lease: V1Lease | undefined) => Promise<'held' | 'lost'>;

/** How the waiter reads Leases, decides and waits; the defaults live in restart-budget.ts. */
export interface SlotWaitPorts {
  readonly clock: Clock;
  readonly log: Logger;
  readonly random: () => number;
  /** The one Lease watched (the node's home slot): a release wakes only the nodes queued for it. */
  readonly slotName: string;
  /** Where in the race spread to write, in [0, 1), after this holder let the slot go (takerRank). */
  readonly rank: (previousHolder: string | undefined) => number;
  /** Another node's place after a holder on the same ring: how far a hand-over moved round it. */
  readonly distance: (previousHolder: string | undefined, taker: string) => number;
  /** Between LISTs while the watch cannot be opened: from pollMs up to maxPollMs. */
  readonly pollMs: number;
  readonly maxPollMs: number;
  /** Waiters woken by one release try it at their ring place times this spread (it then adapts). */
  readonly raceSpreadMs: number;
  /** Reads a Lease the way chooseSlot needs it (undefined for one that is not a slot). */
  readonly viewOf: (lease: V1Lease) => SlotLease | undefined;
  /** chooseHomeSlot with the slot, our name and the time filled in. */
  readonly decide: (views: readonly SlotLease[]) => SlotChoice;
}

type Cache = Map<string, V1Lease>;

/** Where the caller's LIST left off: the list, and the slot it just lost a write on (stale until seen). */
export interface InitialList {
  readonly listed: SlotList;
  readonly lostOn?: string | undefined;
}

/** The spread adapts between these multiples of the configured one (nextRacePace). */
const MIN_SPREAD_FACTOR = 1 / 100;
const MAX_SPREAD_FACTOR = 60;

/** The waiter's pacing, carried across watch sessions, and the last holder seen of each slot. */
interface Pace {
  race: RacePace;
  readonly previous: Map<string, string>;
}

/** When the winner of a slot wrote it (its `acquireTime`), in ms; undefined when unreadable. */
function acquiredAt(lease: V1Lease | undefined): number | undefined {
  const value = lease?.spec?.acquireTime;
  const ms = value === undefined ? Number.NaN : new Date(value as unknown as string).getTime();
  return Number.isNaN(ms) ? undefined : ms;
}

const nameOf = (lease: V1Lease) => lease.metadata?.name ?? '';
const slotName = (choice: SlotAttemptChoice) => `${SLOT_PREFIX}${choice.slot}`;

/** The version a write would be checked against ('absent' for a create). */
function versionOf(cache: Cache, name: string): string {
  return cache.get(name)?.metadata?.resourceVersion ?? 'absent';
}

/**
 * Slots we lost a write on, by name, with the version we wrote against: stale until the watch shows
 * that slot again (the winner's write), so a loser does not write again on what it already knows is old.
 */
type Stale = Map<string, string>;

/** Milliseconds until the first live claim in the cache lapses (a crashed holder), or undefined. */
function untilFirstExpiry(cache: Cache, ports: SlotWaitPorts): number | undefined {
  const now = ports.clock.now();
  const ends = [...cache.values()]
    .map(ports.viewOf)
    .filter((view): view is SlotLease => view !== undefined && Boolean(view.holder) && !slotExpired(view, now))
    .map((view) => (view.lastRenewMs ?? now) + view.durationMs + 1 - now);
  return ends.length === 0 ? undefined : Math.max(1, Math.min(...ends));
}

/**
 * Waits for one restart slot (the node's home slot) and takes it. It starts from the LIST the caller made
 * (or LISTs that slot), then WATCHes it from that resourceVersion (one long request): a release or an
 * expiry wakes it, it waits for its moment within its spread (its rank after the previous holder) — so of
 * the many woken by one release only those whose moment comes before the winner's write reaches them
 * actually write; the spread adapts to how many there are (nextRacePace) —
 * re-decides on what the watch has shown since, and writes with a resourceVersion precondition. A loser
 * goes back to watching. A watch the server closes is reopened
 * from the last version seen; 410 Gone means LIST again; a broken watch falls back to a LIST after a
 * bounded poll delay (5 s growing to 30 s). A LIST that fails past its deadline throws: no slot, no restart.
 */
export async function waitForSlot(
  leases: LeasePort,
  attempt: SlotAttempt,
  ports: SlotWaitPorts,
  initial?: InitialList,
): Promise<void> {
  const { clock, log, random } = ports;
  let fallbacks = 0;
  let announced = '';
  const announce = (holders: readonly string[]) => {
    const text = holders.join(', ');
    if (text !== announced)
      log.info(
        { holders, namespace: leases.namespace },
        `waiting to restart the runtime: all ${holders.length} restart slot(s) are held by ${text}`,
      );
    announced = text;
  };
  const pace: Pace = { race: { spreadMs: ports.raceSpreadMs }, previous: new Map() };
  let reuse = initial;
  for (;;) {
    const listed = reuse?.listed ?? (await leases.listSlots(ports.slotName));
    const lostOn = reuse?.lostOn;
    reuse = undefined;
    const cache: Cache = new Map(
      listed.items.filter((lease) => nameOf(lease) === ports.slotName).map((lease) => [nameOf(lease), lease]),
    );
    for (const lease of cache.values())
      if (lease.spec?.holderIdentity) pace.previous.set(nameOf(lease), lease.spec.holderIdentity);
    const stale: Stale = new Map();
    if (lostOn !== undefined) stale.set(lostOn, versionOf(cache, lostOn));
    const choose = (): SlotChoice => {
      const choice = ports.decide([...cache.values()].flatMap((lease) => ports.viewOf(lease) ?? []));
      if (choice.kind === 'wait') return choice;
      const name = slotName(choice);
      return stale.get(name) === versionOf(cache, name) ? { kind: 'wait', holders: [] } : choice;
    };
    const tryChoice = async (choice: SlotAttemptChoice): Promise<boolean> => {
      const name = slotName(choice);
      const version = versionOf(cache, name);
      if ((await attempt(choice, cache.get(name))) === 'held') return true;
      if (versionOf(cache, name) === version) stale.set(name, version);
      return false;
    };
    const now = choose();
    if (now.kind !== 'wait' && (await tryChoice(now))) return;
    let resourceVersion = listed.resourceVersion;
    for (;;) {
      const session = await watchSession(
        leases,
        { cache, stale, pace },
        resourceVersion,
        choose,
        tryChoice,
        announce,
        ports,
      );
      if (session.outcome === 'held') return;
      resourceVersion = session.resourceVersion;
      const end = session.outcome;
      if (end.kind === 'closed') {
        fallbacks = 0;
        continue;
      }
      if (end.kind === 'gone') {
        log.debug(
          { resourceVersion },
          'the restart slots changed too much to resume watching (410 Gone): listing again',
        );
        break;
      }
      const delay = pollDelay(fallbacks, ports.pollMs, ports.maxPollMs, random());
      log.warn(
        { error: asKataDeployError(end.error).message, namespace: leases.namespace, retryInMs: delay },
        'watching the restart slots failed (it needs verb "watch" on leases.coordination.k8s.io); ' +
          'reading them again after a delay',
      );
      fallbacks += 1;
      await clock.sleep(delay);
      break;
    }
  }
}

type SessionResult =
  | { readonly outcome: 'held' }
  | { readonly outcome: SlotWatchEnd; readonly resourceVersion: string };

/** One watch stream: keeps the cache current, tries a slot whenever one looks free, until held or ended. */
async function watchSession(
  leases: LeasePort,
  { cache, stale, pace }: { readonly cache: Cache; readonly stale: Stale; readonly pace: Pace },
  from: string,
  choose: () => SlotChoice,
  tryChoice: (choice: SlotAttemptChoice) => Promise<boolean>,
  announce: (holders: readonly string[]) => void,
  ports: SlotWaitPorts,
): Promise<SessionResult> {
  let resourceVersion = from;
  let generation = 0;
  let wake = () => {};
  let end: SlotWatchEnd | undefined;
  const watch = leases.watchSlots(
    from,
    (event) => {
      if (event.type === 'BOOKMARK') resourceVersion = event.resourceVersion;
      else {
        const holder = event.lease.spec?.holderIdentity;
        if (holder) pace.previous.set(nameOf(event.lease), holder);
        stale.delete(nameOf(event.lease));
        if (event.type === 'DELETED') cache.delete(nameOf(event.lease));
        else cache.set(nameOf(event.lease), event.lease);
        resourceVersion = event.lease.metadata?.resourceVersion ?? resourceVersion;
      }
      generation += 1;
      wake();
    },
    ports.slotName,
  );
  void watch.ended.then((outcome) => {
    end = outcome;
    wake();
  });
  /** Until the next event, the end of the stream, or `ms` (undefined: no timer). */
  const changed = async (seen: number, ms: number | undefined): Promise<void> => {
    if (generation !== seen || end !== undefined) return;
    const timer = new AbortController();
    const woken = new Promise<void>((resolve) => {
      wake = resolve;
    });
    await Promise.race(ms === undefined ? [woken] : [woken, ports.clock.sleep(ms, timer.signal)]);
    timer.abort();
    wake = () => {};
  };
  try {
    for (;;) {
      if (end !== undefined) return { outcome: end, resourceVersion };
      const seen = generation;
      const choice = choose();
      if (choice.kind === 'wait') {
        if (choice.holders.length > 0) announce(choice.holders);
        await changed(seen, untilFirstExpiry(cache, ports));
        continue;
      }
      // Our moment within the spread; an event showing the slot taken before it comes drops it.
      const freedAt = ports.clock.now();
      const previousHolder = cache.get(slotName(choice))?.spec?.holderIdentity || pace.previous.get(slotName(choice));
      const moment = freedAt + Math.floor(ports.rank(previousHolder) * pace.race.spreadMs);
      let again: SlotChoice = choice;
      do {
        await changed(generation, Math.max(0, moment - ports.clock.now()));
        if (end !== undefined) break;
        again = choose();
      } while (again.kind !== 'wait' && ports.clock.now() < moment);
      if (end !== undefined) continue;
      if (again.kind !== 'wait') {
        if (await tryChoice(again)) return { outcome: 'held' };
        continue;
      }
      // Taken before our moment came: who won, how far round the ring, and how long its news took.
      const taken = cache.get(`${SLOT_PREFIX}${choice.slot}`);
      const wrote = acquiredAt(taken);
      const winner = taken?.spec?.holderIdentity;
      if (wrote === undefined || !winner) continue;
      const handOver = { propagationMs: ports.clock.now() - wrote, spacing: ports.distance(previousHolder, winner) };
      const bounds = [ports.raceSpreadMs * MIN_SPREAD_FACTOR, ports.raceSpreadMs * MAX_SPREAD_FACTOR] as const;
      pace.race = nextRacePace(pace.race, handOver, ...bounds);
    }
  } finally {
    watch.stop();
  }
}
