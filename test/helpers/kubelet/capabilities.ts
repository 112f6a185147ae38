// The capability bounding set a container runtime gives a container, from its securityContext.

/** containerd's and CRI-O's default set for a non-privileged container (the OCI spec's defaults). */
export const RUNTIME_DEFAULT_CAPABILITIES: readonly string[] = [
  'CHOWN',
  'DAC_OVERRIDE',
  'FSETID',
  'FOWNER',
  'MKNOD',
  'NET_RAW',
  'SETGID',
  'SETUID',
  'SETFCAP',
  'SETPCAP',
  'NET_BIND_SERVICE',
  'SYS_CHROOT',
  'KILL',
  'AUDIT_WRITE',
];

/** Kubernetes accepts `NET_ADMIN` and `CAP_NET_ADMIN`; runtimes compare them without the prefix. */
function bare(name: string): string {
  return name.toUpperCase().replace(/^CAP_/, '');
}

/**
 * The bounding set for `capabilities: {add, drop}` on top of the runtime's defaults, as containerd computes
 * it: `drop: [ALL]` empties the defaults, then `add` is added. `undefined` means every capability
 * (a privileged container), which the launcher leaves as the node's own bounding set.
 */
export function boundingSet(
  privileged: boolean,
  add: readonly string[] = [],
  drop: readonly string[] = [],
): readonly string[] | undefined {
  if (privileged) return undefined;
  const dropped = new Set(drop.map(bare));
  const kept = dropped.has('ALL') ? [] : RUNTIME_DEFAULT_CAPABILITIES.filter((cap) => !dropped.has(cap));
  const added = add.map(bare);
  if (added.includes('ALL')) return undefined;
  return [...new Set([...kept, ...added])].sort();
}

/** setpriv's `--bounding-set` argument for that set (`-all,+chown,…`). */
export function setprivBoundingArg(capabilities: readonly string[]): string {
  return ['-all', ...capabilities.map((cap) => `+${cap.toLowerCase()}`)].join(',');
}
