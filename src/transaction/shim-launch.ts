import { KataDeployError } from '../core/errors.js';
import type { ShimLink } from '../core/shim-lookup.js';
import type { TransactionContext } from './context.js';
import type { FileTransaction } from './file-transaction.js';
import { createLinks, removeLinks } from './shim-links.js';

/** Writes the planned shim links, each recorded (uncommitted) in the ledger before it exists. */
export async function writeShimLinks(
  ctx: TransactionContext,
  tx: FileTransaction,
  toWrite: readonly ShimLink[],
): Promise<void> {
  if (toWrite.length === 0) return;
  await createLinks(ctx.fs, toWrite, tx.ledger.shimLinks ?? [], (shimLinks) => tx.update({ shimLinks }));
  ctx.log.info({ links: toWrite.map((link) => link.path) }, "linked each handler's shim onto the runtime's PATH");
}

/**
 * Proves every handler can start: the file the runtime will exec for it is our shim. A listed handler
 * whose shim cannot be found fails every pod at its first RunPodSandbox, so readiness must not pass.
 */
export async function assertLaunchable(ctx: TransactionContext, onFailure: string): Promise<void> {
  if (ctx.shims === undefined) return;
  const resolved = await ctx.shims.resolve(ctx.handlers);
  const broken = resolved.filter((entry) => !entry.launchable);
  if (broken.length === 0) {
    ctx.log.info({ shims: resolved.map((entry) => entry.exec) }, 'every handler resolves to our shim');
    return;
  }
  throw new KataDeployError(
    'restart-failed',
    `${await ctx.shims.describe()}: ${broken.map((entry) => `${entry.handler} ${entry.reason}`).join('; ')}; ` +
      onFailure,
    { hint: 'no pod could start with these handlers; check the paths named above' },
  );
}

/** After the ledger commit: removes our links the handlers no longer need (only while still our symlinks). */
export async function commitShimLinks(
  ctx: TransactionContext,
  tx: FileTransaction,
  wanted: readonly ShimLink[],
): Promise<void> {
  const recorded = tx.ledger.shimLinks ?? [];
  const stale = (link: ShimLink) => !wanted.some((keep) => keep.path === link.path);
  if (!recorded.some(stale)) return;
  await tx.update({ shimLinks: await removeLinks(ctx.fs, recorded, stale) });
}

/** Uninstall: removes every recorded link that is still ours; a link someone replaced is left alone. */
export async function removeShimLinks(ctx: TransactionContext, tx: FileTransaction): Promise<void> {
  const recorded = tx.ledger.shimLinks ?? [];
  if (recorded.length === 0) return;
  await tx.update({ shimLinks: await removeLinks(ctx.fs, recorded, () => true) });
}
