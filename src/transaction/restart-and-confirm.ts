import { KataDeployError } from '../core/errors.js';
import type { TransactionContext } from './context.js';
import type { FileTransaction } from './file-transaction.js';
import { runInProgress } from './ledger.js';
import type { Readiness } from './parts.js';

/**
 * Restarts the runtime (when asked) and waits until it serves `handlers`. On any failure it rolls the
 * run back — files, then a second restart — confirms the runtime is healthy on the old config, and
 * throws restart-failed (exit 6) saying what failed and what state the node is in.
 */
export async function restartAndConfirm(
  ctx: TransactionContext,
  tx: FileTransaction,
  restart: boolean,
  handlers: readonly string[],
  beforeRollbackRestart: () => Promise<void> = async () => undefined,
): Promise<Readiness> {
  const control = ctx.control;
  if (control === undefined) return { ready: false, reason: 'no runtime control configured' };
  let failure: string;
  try {
    if (restart) {
      ctx.log.info({ runtime: control.description }, 'restarting the container runtime');
      await control.restart();
    }
    const readiness = await control.waitForHandlers(handlers, ctx.settings.readinessTimeoutMs);
    if (readiness.ready) {
      ctx.log.info({ elapsedMs: readiness.elapsedMs, handlers }, 'the runtime serves every handler');
      return readiness;
    }
    failure = readiness.reason;
  } catch (error) {
    failure = error instanceof Error ? error.message : String(error);
  }
  if (!runInProgress(tx.ledger)) {
    throw new KataDeployError(
      'restart-failed',
      `the runtime does not serve the handlers: ${failure}; nothing was changed`,
      {
        hint: `check the runtime (${control.description}); the next run restarts it if its config is stale`,
      },
    );
  }
  ctx.log.error({ failure }, 'the runtime did not come back with the new handlers; rolling back');
  const undone = await tx.rollback();
  await beforeRollbackRestart();
  let after = 'the previous configuration was restored';
  if (undone.runtimeReadsChanged && restart) {
    try {
      await control.restart();
      const healthy = await control.waitForHandlers(control.baseHandlers, ctx.settings.readinessTimeoutMs);
      after += healthy.ready
        ? ' and the runtime is healthy again'
        : `, but the runtime is still unhealthy: ${healthy.reason}`;
    } catch (error) {
      after += `, but restarting it failed too: ${(error as Error).message}`;
    }
  }
  throw new KataDeployError('restart-failed', `${failure}; ${after}`, {
    hint: `inspect the runtime (${control.description}) and its journal; nothing was labelled`,
  });
}
