/**
 * The nydus-snapshotter instance upstream kata-deploy registers for Kata's TEE handlers. Upstream 4.2 maps
 * a handler's `nydus` to this proxy plugin rather than to a node-wide `nydus`, so the guest-pull
 * snapshotter serving Kata never is (or fights with) one the operator runs for runc workloads.
 */
export const NYDUS_FOR_KATA_TEE = 'nydus-for-kata-tee';

/**
 * The containerd snapshotter a handler's `snapshotter` key names for what the operator mapped it to
 * (SNAPSHOTTER_HANDLER_MAPPING, a custom runtime's third field): `nydus` becomes upstream's proxy plugin,
 * suffixed per install like every other per-install name; anything else is passed through unchanged.
 */
export function containerdSnapshotter(mapped: string | undefined, suffix: string | undefined): string | undefined {
  if (mapped !== 'nydus') return mapped;
  return suffix === undefined ? NYDUS_FOR_KATA_TEE : `${NYDUS_FOR_KATA_TEE}-${suffix}`;
}
