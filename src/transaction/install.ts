import { unexpectedRunFailure } from '../core/host-error.js';
import type { FileChange } from '../core/file-change.js';
import { HOST_LOCK_PATH, stateDir } from '../core/paths.js';
import { redactUrl } from '../core/redact.js';
import type { TransactionContext } from './context.js';
import { FileTransaction } from './file-transaction.js';
import { acquireHostLock } from './host-lock.js';
import { committedPayloadDigest, emptyLedger, type Ledger, LedgerStore, runInProgress } from './ledger.js';
import type { Readiness, StagedPayloadHandle } from './parts.js';
import type { RestartDecision } from './restart-decision.js';
import { restartAndConfirm } from './restart-and-confirm.js';
import { failpoint } from './failpoint.js';
import { assertLedgerInScope, ledgerScopeFor } from './ledger-scope.js';
import { assertLaunchable, commitShimLinks, writeShimLinks } from './shim-launch.js';
import type { ShimLink } from '../core/shim-lookup.js';
import { stageAndPlan } from './install-plan.js';

/** What install did (or, with --dry-run, would do), for logs, `--json` and the daemon. */
export interface InstallResult {
  readonly dryRun: boolean;
  readonly handlers: readonly string[];
  readonly payload: { readonly digest: string; readonly changed: boolean };
  readonly changes: readonly FileChange[];
  /** Per-handler shim links the runtime needs (it ignores runtime_path); empty where it execs runtime_path. */
  readonly shimLinks: readonly ShimLink[];
  /** The links this run wrote (missing or pointing at an older install dir before). */
  readonly shimLinksWritten: readonly string[];
  readonly restart: RestartDecision & { readonly performed: boolean };
  readonly readiness: Readiness | undefined;
  readonly recovered: boolean;
}

/** Where a run stands, shared by its steps so a failure knows what to undo. */
interface RunState {
  committedPayload: boolean;
  restartAttempted: boolean;
  revertFailed: boolean;
}

/**
 * Puts the host back after a failed install (the payload was already reverted): journalled files to
 * where this run found them, the runtime restarted on them if it had read ours, and the ledger as it
 * was (gone, if there was none — unless a payload revert failed and the next run needs its record).
 */
async function undoFailedInstall(
  ctx: TransactionContext,
  tx: FileTransaction,
  store: LedgerStore,
  previous: Ledger | undefined,
  restarted: boolean,
  state: RunState,
): Promise<void> {
  const undone = await tx.rollback();
  if (undone.runtimeReadsChanged && restarted && ctx.control !== undefined) {
    ctx.log.warn('the runtime already runs the new config; restarting it on the restored one');
    state.restartAttempted = true;
    await ctx.control.restart();
    const healthy = await ctx.control.waitForHandlers(ctx.control.baseHandlers, ctx.settings.readinessTimeoutMs);
    if (!healthy.ready)
      ctx.log.error({ reason: healthy.reason }, 'the runtime is unhealthy after restoring its config');
  }
  if (previous === undefined && tx.ledger.files.length === 0 && !state.revertFailed) await store.remove(tx.ledger);
  else await tx.update({ phase: previous?.phase ?? 'installed' });
}

async function revertPayload(ctx: TransactionContext, staged: StagedPayloadHandle, state: RunState): Promise<void> {
  if (!state.committedPayload) return;
  await ctx.payload.revert(staged).catch((error: unknown) => {
    state.revertFailed = true;
    ctx.log.error({ error: String(error) }, 'could not put the previous payload back; the next run will');
  });
}

/**
 * Installs Kata on the node as one transaction: gather and validate everything first (payload staged
 * out of sight, configs accepted by the host's containerd), then write with every change journalled,
 * restart only if the runtime's files changed, prove the handlers live, and roll back otherwise.
 */
export async function install(ctx: TransactionContext): Promise<InstallResult> {
  const { fs, log, settings } = ctx;
  const lock = settings.dryRun
    ? undefined
    : await acquireHostLock(fs, HOST_LOCK_PATH, ctx.lockTimeoutMs ?? 600_000, ctx.clock, log);
  const state: RunState = { committedPayload: false, restartAttempted: false, revertFailed: false };
  let recoveredRuntimeFiles = false;
  try {
    const store = new LedgerStore(fs, stateDir(settings));
    const previous = await store.read();
    if (previous !== undefined)
      assertLedgerInScope(previous, ledgerScopeFor(settings, ctx.runtimeConfigDirs), store.path);
    const tx = new FileTransaction(fs, store, previous ?? emptyLedger(new Date(ctx.clock.now())), ctx.clock);
    const recovered = previous !== undefined && runInProgress(previous);
    if (!settings.dryRun) await ctx.payload.recover(committedPayloadDigest(previous));
    if (recovered && !settings.dryRun) {
      log.warn(
        { phase: previous.phase, files: previous.journal.map((entry) => entry.path) },
        'a previous run was interrupted; rolling its changes back first',
      );
      recoveredRuntimeFiles = (await tx.rollback()).runtimeReadsChanged;
    }
    return await planAndApply(ctx, store, previous, tx, { recovered, recoveredRuntimeFiles }, state);
  } catch (error) {
    if (
      recoveredRuntimeFiles &&
      !state.restartAttempted &&
      ctx.control?.restarts === true &&
      settings.restart !== 'none'
    ) {
      log.warn("the runtime still runs the interrupted run's config; restarting it on the restored one");
      await ctx.control
        .restart()
        .catch((restartError: unknown) =>
          log.error({ error: String(restartError) }, 'restart failed; the next run retries'),
        );
    }
    throw unexpectedRunFailure('install', error);
  } finally {
    lock?.release();
  }
}

async function planAndApply(
  ctx: TransactionContext,
  store: LedgerStore,
  previous: Ledger | undefined,
  tx: FileTransaction,
  recovery: { recovered: boolean; recoveredRuntimeFiles: boolean },
  state: RunState,
): Promise<InstallResult> {
  const { log, settings } = ctx;
  const { recovered } = recovery;
  const base = ctx.control?.baseHandlers ?? [];
  const wanted = ctx.handlers.map((handler) => handler.name);
  const staging = await stageAndPlan(ctx, tx, recovery.recoveredRuntimeFiles);
  const staged = staging.staged;
  try {
    const { kataChanges, stale, runtimePlan, linkPlan, staleLinks, decision, changes, modulesChecked } =
      await staging.plan;
    const result = (
      payloadChanged: boolean,
      performed: boolean,
      readiness: Readiness | undefined,
      dryRun = false,
    ): InstallResult => ({
      dryRun,
      handlers: wanted,
      payload: { digest: staged.digest, changed: payloadChanged },
      changes,
      shimLinks: linkPlan.wanted,
      shimLinksWritten: linkPlan.toWrite.map((link) => link.path),
      restart: { ...decision, performed },
      readiness,
      recovered,
    });
    if (settings.dryRun) return result(!staged.unchanged, false, undefined, true);
    if (decision.restart) await ctx.control?.preflight();
    if (
      changes.length === 0 &&
      linkPlan.toWrite.length === 0 &&
      !staleLinks &&
      staged.unchanged &&
      !decision.restart &&
      !recovered &&
      previous?.phase === 'installed'
    ) {
      if (!modulesChecked) await ctx.modules?.load();
      const readiness = decision.skipReadiness
        ? undefined
        : await restartAndConfirm(ctx, tx, false, [...wanted, ...base]);
      await assertLaunchable(ctx, 'nothing was changed');
      log.info({ handlers: wanted }, 'Kata is already installed; nothing to change');
      return result(false, false, readiness);
    }
    let restarted = false;
    try {
      await tx.update({ phase: 'installing' });
      failpoint(settings, 'install:after-ledger');
      const payloadResult = await ctx.payload.commit(staged);
      state.committedPayload = true;
      log.debug('phase: payload switched');
      failpoint(settings, 'install:after-payload');
      await tx.apply(kataChanges, false);
      failpoint(settings, 'install:after-kata-configs');
      if (!modulesChecked) await ctx.modules?.load();
      await tx.apply(runtimePlan.changes, true);
      failpoint(settings, 'install:after-runtime-config');
      await writeShimLinks(ctx, tx, linkPlan.toWrite);
      failpoint(settings, 'install:after-shim-links');
      log.debug('phase: configs and shim links written');
      let readiness: Readiness | undefined;
      if (decision.restart || !decision.skipReadiness) {
        state.restartAttempted ||= decision.restart;
        readiness = await restartAndConfirm(ctx, tx, decision.restart, [...wanted, ...base], () =>
          revertPayload(ctx, staged, state),
        );
        restarted = decision.restart;
      }
      await assertLaunchable(ctx, 'rolling back');
      failpoint(settings, 'install:after-restart');
      await tx.commit({
        phase: 'installed',
        handlers: wanted,
        runtimeConfig: runtimePlan.record,
        payloadDigest: staged.digest,
        payloadSource: redactUrl(settings.payload),
        shims: settings.shims,
      });
      failpoint(settings, 'install:after-commit');
      await commitShimLinks(ctx, tx, linkPlan.wanted);
      await tx.forget((file) => stale.has(file.path) && file.original.kind === 'absent');
      await ctx.payload
        .finalize(staged)
        .catch((error: unknown) =>
          log.warn(
            { error: String(error) },
            'the new payload is installed but its old tree was not cleaned up; the next run finishes it',
          ),
        );
      log.info({ handlers: wanted, restarted: decision.restart }, 'Kata is installed');
      return result(payloadResult.changed, decision.restart, readiness);
    } catch (error) {
      await revertPayload(ctx, staged, state);
      await undoFailedInstall(ctx, tx, store, previous, restarted, state);
      throw error;
    }
  } finally {
    if (!state.committedPayload) await ctx.payload.discard(staged);
  }
}
