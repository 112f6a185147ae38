/**
 * Node labels with upstream kata-deploy's meaning, decided as pure functions of the labels a node has
 * now. The writer (node-writer.ts) reads the node, asks one of these, and writes the answer with the
 * resourceVersion it read, so a decision is never applied to a node that moved on in between.
 */

/** The label every install's RuntimeClasses select: the switch that admits Kata pods to a node. */
export const KATA_RUNTIME_LABEL = 'katacontainers.io/kata-runtime';

/** Prefix of the per-install marks; the mark tells which install holds the node. */
export const MARK_PREFIX = 'kata-deploy.katacontainers.io/';

/** A claim on a node whose install has not finished (or failed): findable, never schedulable. */
export const PENDING = 'false';
/** Both labels say this once readiness proved the handlers live; RuntimeClasses select it. */
export const READY = 'true';

/** The mark of one install: `kata-deploy.katacontainers.io/<suffix or "default">`. */
export function markLabel(suffix: string | undefined): string {
  return `${MARK_PREFIX}${suffix ?? 'default'}`;
}

/** A node's `metadata.labels`, as read. */
export type Labels = Readonly<Record<string, string>>;

/** Label values to write; `null` removes the key (JSON merge patch semantics). */
export type LabelChanges = Readonly<Record<string, string | null>>;

/** What to do to a node's labels: write these changes, or leave the node as it is (and why). */
export type LabelDecision =
  | { readonly kind: 'write'; readonly changes: LabelChanges; readonly reason: string }
  | { readonly kind: 'unchanged'; readonly reason: string };

/**
 * Claim the node before the install touches it: both labels `false`, each only if absent. A `true`
 * left by an install that already finished must not be downgraded by its own restarted pod or by an
 * upgrade racing it, and a `false` already is the claim. The claim exists so that an uninstall can
 * still find a node whose install failed half-way.
 */
export function decideClaim(labels: Labels, mark: string): LabelDecision {
  const changes: Record<string, string> = {};
  for (const key of [KATA_RUNTIME_LABEL, mark]) if (labels[key] === undefined) changes[key] = PENDING;
  if (Object.keys(changes).length === 0) return { kind: 'unchanged', reason: 'node already claimed or labelled' };
  return { kind: 'write', changes, reason: 'claim the node before installing' };
}

/** After readiness proved the handlers live: both labels `true`, so the RuntimeClasses admit pods. */
export function decideReady(labels: Labels, mark: string): LabelDecision {
  const changes: Record<string, string> = {};
  for (const key of [KATA_RUNTIME_LABEL, mark]) if (labels[key] !== READY) changes[key] = READY;
  if (Object.keys(changes).length === 0) return { kind: 'unchanged', reason: 'node already labelled ready' };
  return { kind: 'write', changes, reason: 'the handlers are live' };
}

/** What the other installs' marks say about the label they share with ours. */
export type SharedLabelVerdict =
  /** Another install serves Kata here: the shared label stays `true`. */
  | 'keep'
  /**
   * Other installs hold the node but none has finished: nothing may be scheduled on their account,
   * yet the key must stay so their own uninstalls can still find the node.
   */
  | 'demote'
  /** Ours was the last mark: the shared key goes. */
  | 'remove';

/**
 * Reads the other marks by value, not only by key: a `false` mark is an unfinished claim, and counting
 * it as "Kata is served here" would leave the node advertised with nothing behind it.
 */
export function sharedLabelAfter(labels: Labels, mark: string): SharedLabelVerdict {
  let others = false;
  for (const [key, value] of Object.entries(labels)) {
    if (key === mark || !key.startsWith(MARK_PREFIX)) continue;
    others = true;
    if (value !== PENDING) return 'keep';
  }
  return others ? 'demote' : 'remove';
}

/**
 * Give the node back after an uninstall: our mark goes, and the shared label goes only when no other
 * install's mark remains (demoted to `false` when the others are unfinished).
 */
export function decideRelease(labels: Labels, mark: string): LabelDecision & { readonly verdict: SharedLabelVerdict } {
  const verdict = sharedLabelAfter(labels, mark);
  const changes: Record<string, string | null> = {};
  if (labels[mark] !== undefined) changes[mark] = null;
  const shared = labels[KATA_RUNTIME_LABEL];
  if (verdict === 'demote' && shared !== undefined && shared !== PENDING) changes[KATA_RUNTIME_LABEL] = PENDING;
  if (verdict === 'remove' && shared !== undefined) changes[KATA_RUNTIME_LABEL] = null;
  const reason = {
    keep: 'another install still serves Kata on this node',
    demote: 'other installs hold the node but none has finished',
    remove: 'no other install holds the node',
  }[verdict];
  if (Object.keys(changes).length === 0) return { kind: 'unchanged', reason, verdict };
  return { kind: 'write', changes, reason, verdict };
}

/**
 * Before an uninstall takes the host apart: our mark goes to `false` so our RuntimeClasses stop
 * admitting pods here, and the shared label too unless another finished install still serves Kata.
 * Keys stay, so a failed uninstall leaves the node findable by the next one.
 */
export function decideDemote(labels: Labels, mark: string): LabelDecision {
  const changes: Record<string, string> = {};
  if (labels[mark] !== undefined && labels[mark] !== PENDING) changes[mark] = PENDING;
  const shared = labels[KATA_RUNTIME_LABEL];
  if (shared !== undefined && shared !== PENDING && sharedLabelAfter(labels, mark) !== 'keep')
    changes[KATA_RUNTIME_LABEL] = PENDING;
  if (Object.keys(changes).length === 0) return { kind: 'unchanged', reason: 'nothing to take out of service' };
  return { kind: 'write', changes, reason: 'take the node out of service before uninstalling' };
}
