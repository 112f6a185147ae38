import { V1MicroTime, type V1Lease } from '@kubernetes/client-node';
import { SLOT_LABEL, SLOT_PREFIX, type SlotLease } from './restart-slots.js';

function timeOf(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  const ms = new Date(value as string | Date).getTime();
  return Number.isNaN(ms) ? undefined : ms;
}

/** Reads a Lease the way chooseSlot needs it; undefined for a Lease that is not one of our slots. */
export function slotLeaseOf(lease: V1Lease): SlotLease | undefined {
  const name = lease.metadata?.name ?? '';
  if (!name.startsWith(SLOT_PREFIX)) return undefined;
  const slot = Number(name.slice(SLOT_PREFIX.length));
  if (!Number.isInteger(slot)) return undefined;
  return {
    slot,
    resourceVersion: lease.metadata?.resourceVersion ?? '',
    holder: lease.spec?.holderIdentity,
    lastRenewMs: timeOf(lease.spec?.renewTime) ?? timeOf(lease.spec?.acquireTime),
    durationMs: (lease.spec?.leaseDurationSeconds ?? 0) * 1000,
  };
}

/** Who takes which slot, for how long, and when. */
export interface SlotClaim {
  readonly namespace: string;
  readonly nodeName: string;
  readonly slot: number;
  readonly durationMs: number;
  readonly nowMs: number;
  readonly transitions: number;
}

/**
 * The Lease a node writes to hold a slot: labelled so our LIST finds it among the namespace's others, and
 * with `resourceVersion` when it replaces one it read (the precondition that lets only one of two win).
 */
export function slotLeaseBody(claim: SlotClaim, resourceVersion?: string): V1Lease {
  const now = new V1MicroTime(claim.nowMs);
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name: `${SLOT_PREFIX}${claim.slot}`,
      namespace: claim.namespace,
      labels: { ...SLOT_LABEL },
      ...(resourceVersion === undefined ? {} : { resourceVersion }),
    },
    spec: {
      holderIdentity: claim.nodeName,
      leaseDurationSeconds: Math.ceil(claim.durationMs / 1000),
      acquireTime: now,
      renewTime: now,
      leaseTransitions: claim.transitions,
    },
  };
}
