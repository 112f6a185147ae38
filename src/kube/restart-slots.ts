import type { RuntimeFlavour } from '../settings/settings.js';

/** Lease names are `kata-deploy-restart-<k>` for k = 0 … budget-1: a node restarting holds one. */
export const SLOT_PREFIX = 'kata-deploy-restart-';

/** The label on our Leases, so an operator (and our LIST) finds them among the namespace's others. */
export const SLOT_LABEL = { 'app.kubernetes.io/managed-by': 'kata-deploy' } as const;

/** A restart slot's Lease as the decision needs it: who holds it, and until when that claim is good. */
export interface SlotLease {
  readonly slot: number;
  readonly resourceVersion: string;
  /** Empty when released by clearing the holder rather than deleting the Lease. */
  readonly holder: string | undefined;
  /** `renewTime`, else `acquireTime`, in ms since the epoch; undefined when neither is set. */
  readonly lastRenewMs: number | undefined;
  readonly durationMs: number;
}

/** What a node does about the restart slots, given the Leases as it last read them. */
export type SlotChoice =
  /** Ours already (a pod restarted mid-restart, or a second restart in one run): renew and go. */
  | { readonly kind: 'held'; readonly slot: number; readonly resourceVersion: string }
  /** No Lease of that name: create it (409 AlreadyExists when another node was faster). */
  | { readonly kind: 'create'; readonly slot: number }
  /** A released or expired Lease: update it with its resourceVersion (409 when another node was faster). */
  | {
      readonly kind: 'take';
      readonly slot: number;
      readonly resourceVersion: string;
      readonly previousHolder: string | undefined;
    }
  /** Every slot is held and live: wait and read again. */
  | { readonly kind: 'wait'; readonly holders: readonly string[] };

/**
 * Whether a holder's claim has lapsed: it stopped renewing (crashed, lost its API access) for longer
 * than the duration it asked for. A Lease with no time at all counts as lapsed: nobody can vouch for it.
 */
export function slotExpired(lease: SlotLease, nowMs: number): boolean {
  if (lease.lastRenewMs === undefined) return true;
  return nowMs > lease.lastRenewMs + lease.durationMs;
}

function free(lease: SlotLease, nowMs: number): boolean {
  return lease.holder === undefined || lease.holder === '' || slotExpired(lease, nowMs);
}

/**
 * The one slot a waiter watches, as chooseSlot decides it with nothing else in view: ours (held), missing
 * (create), released or expired (take), else wait for its holder. Pure.
 */
export function chooseHomeSlot(
  lease: SlotLease | undefined,
  home: number,
  nodeName: string,
  nowMs: number,
): SlotChoice {
  if (lease === undefined) return { kind: 'create', slot: home };
  if (lease.holder === nodeName) return { kind: 'held', slot: home, resourceVersion: lease.resourceVersion };
  if (free(lease, nowMs))
    return { kind: 'take', slot: home, resourceVersion: lease.resourceVersion, previousHolder: lease.holder };
  return { kind: 'wait', holders: [lease.holder ?? ''] };
}

/**
 * Chooses a slot: ours if we hold one, else our home slot (homeSlot) when it is missing, released or
 * expired, else another missing one (create), else another released or expired one (take), else wait.
 * Among the others the choice is spread by `pick` in [0, 1), so nodes that read the same list at once
 * mostly aim at different slots. Leases numbered at or above the budget (left from a larger budget) are
 * ignored. Pure: time and randomness come in.
 */
export function chooseSlot(
  leases: readonly SlotLease[],
  budget: number,
  nodeName: string,
  nowMs: number,
  pick: number,
  home?: number,
): SlotChoice {
  const inBudget = leases.filter((lease) => lease.slot >= 0 && lease.slot < budget);
  const own = inBudget.find((lease) => lease.holder === nodeName);
  if (own !== undefined) return { kind: 'held', slot: own.slot, resourceVersion: own.resourceVersion };
  if (home !== undefined && home >= 0 && home < budget) {
    const choice = chooseHomeSlot(
      inBudget.find((lease) => lease.slot === home),
      home,
      nodeName,
      nowMs,
    );
    if (choice.kind !== 'wait') return choice;
  }
  const present = new Set(inBudget.map((lease) => lease.slot));
  const missing = Array.from({ length: budget }, (_, slot) => slot).filter((slot) => !present.has(slot));
  const spread = <T>(items: readonly T[]): T => items[Math.min(items.length - 1, Math.floor(pick * items.length))]!;
  if (missing.length > 0) return { kind: 'create', slot: spread(missing) };
  const reusable = inBudget.filter((lease) => free(lease, nowMs)).sort((a, b) => a.slot - b.slot);
  if (reusable.length > 0) {
    const lease = spread(reusable);
    return { kind: 'take', slot: lease.slot, resourceVersion: lease.resourceVersion, previousHolder: lease.holder };
  }
  return { kind: 'wait', holders: inBudget.map((lease) => lease.holder ?? '').sort() };
}

/** How many slots of the budget a LIST showed free (missing, released or expired). Pure. */
export function freeSlotCount(leases: readonly SlotLease[], budget: number, nowMs: number): number {
  const inBudget = leases.filter((lease) => lease.slot >= 0 && lease.slot < budget);
  const taken = inBudget.filter((lease) => !free(lease, nowMs)).length;
  return budget - taken;
}

/** FNV-1a over the UTF-16 code units. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** FNV-1a, then murmur3's finaliser: names that differ in one character get unrelated values. */
function mixedHash(text: string): number {
  let hash = fnv1a(text);
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

/**
 * The slot a node queues for when all are held, from its name: the waiters split evenly over the slots,
 * so each watches one Lease and a release wakes about 1/budget of them, not all (at 1,000 nodes and
 * budget 10 the API server then sends ~100 events per release, not ~1,000). Plain FNV-1a: on numbered
 * names (worker-0 … worker-999, ip-10-0-a-b) it fills the slots more evenly than a mixed hash (95–106
 * per slot against 86–124), and the slowest slot is what the whole rollout waits for.
 */
export function homeSlot(nodeName: string, budget: number): number {
  return budget <= 1 ? 0 : fnv1a(nodeName) % budget;
}

/**
 * Where in the race spread a waiter writes after `previousHolder` let the slot go, in [0, 1): its
 * distance after the previous holder around a ring of name hashes. Every waiter measures from the same
 * holder, so the slot goes round the ring and no waiter is passed over more than once per round.
 */
export function takerRank(nodeName: string, previousHolder: string | undefined): number {
  return ((mixedHash(nodeName) - mixedHash(previousHolder ?? '')) >>> 0) / 2 ** 32;
}

/**
 * The budget when the operator set none. 1 where restarting the runtime restarts the control plane
 * with it (k3s and rke2 servers run the API server and etcd in the same process tree as containerd):
 * servers then restart one at a time and an etcd quorum survives the rollout. 10 elsewhere: running
 * containers survive a containerd restart, but the node starts no pod for those seconds, so at most
 * ten nodes are in that state while a 1,000-node rollout still takes only a hundred rounds.
 */
export function defaultRestartBudget(flavour: RuntimeFlavour): number {
  return flavour === 'k3s' || flavour === 'rke2-server' ? 1 : 10;
}

/**
 * How long to wait before reading the slots again: from `baseMs`, growing by half with every read that
 * found them all held, up to `maxMs`, spread ±50 % so waiters do not poll in step. A thousand nodes
 * queueing behind a budget of one then cost the API server tens of reads a second, not hundreds.
 */
export function pollDelay(waits: number, baseMs: number, maxMs: number, jitter: number): number {
  return Math.round(Math.min(maxMs, baseMs * 1.5 ** waits) * (0.5 + jitter));
}

/** What a waiter saw of one hand-over it did not win. */
export interface HandOverSeen {
  /** From the winner's `acquireTime` until its write reached us. */
  readonly propagationMs: number;
  /** The winner's place after the previous holder on the ring (takerRank), in [0, 1). */
  readonly spacing: number;
}

/** A waiter's pacing: its spread, and running means of what the hand-overs it saw showed. */
export interface RacePace {
  readonly spreadMs: number;
  readonly spacing?: number;
  readonly propagationMs?: number;
}

/** A watch event later than this is another node's clock running behind ours, not the network. */
const MAX_PROPAGATION_MS = 1_000;

/** How much one hand-over moves the running means: single ring spacings scatter widely (exponentially). */
const PACE_WEIGHT = 1 / 4;

/**
 * The next spread, from one more hand-over seen. Each slot goes to the waiter nearest after the previous
 * holder on the ring, so the spacing between successive holders tells how densely waiters sit on it:
 * about 1/n for n waiters. Moments are ring places times the spread, so the nearest writes after about
 * spread × spacing; making that twice the propagation delay, the others mostly hear of its write before
 * their own moments come, while the slot sits free for only two propagations. As a queue drains the
 * spacings grow and the spread shrinks with them, so its last waiters are not kept waiting.
 */
export function nextRacePace(pace: RacePace, seen: HandOverSeen, minMs: number, maxMs: number): RacePace {
  if (!(seen.spacing > 0) || Number.isNaN(seen.propagationMs)) return pace;
  const mean = (old: number | undefined, value: number) =>
    old === undefined ? value : old + (value - old) * PACE_WEIGHT;
  const spacing = mean(pace.spacing, seen.spacing);
  // The winner's clock stamped `acquireTime`: a skewed clock must not stretch everyone's wait.
  const seenMs = Math.min(MAX_PROPAGATION_MS, Math.max(0, seen.propagationMs));
  const propagationMs = mean(pace.propagationMs, seenMs);
  const spreadMs = Math.round(Math.min(maxMs, Math.max(minMs, (2 * Math.max(1, propagationMs)) / spacing)));
  return { spreadMs, spacing, propagationMs };
}
