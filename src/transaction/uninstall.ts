import { unexpectedRunFailure } from '../core/host-error.js';
import { isNoop } from '../core/file-change.js';
import { HOST_LOCK_PATH, stateDir } from '../core/paths.js';
import type { TransactionContext } from './context.js';
import { FileTransaction } from './file-transaction.js';
import { acquireHostLock } from './host-lock.js';
import { committedPayloadDigest, LedgerStore, runInProgress } from './ledger.js';
import type { Readiness } from './parts.js';
import { restartAndConfirm } from './restart-and-confirm.js';
import { failpoint } from './failpoint.js';
import { assertLedgerInScope, ledgerScopeFor } from './ledger-scope.js';
import { removeShimLinks } from './shim-launch.js';

/**
 * What uninstall did; `nothingInstalled` when there was no ledger (exit 0), then only the staging or
 * old trees a killed install left beside the install dir are removed (`removedLeftovers`).
 */
export interface UninstallResult {
  readonly nothingInstalled: boolean;
  readonly removedLeftovers: readonly string[];
  readonly restoredFiles: readonly string[];
  readonly removedPayloadFiles: number;
  /** Host paths left in place because they are no longer what kata-deploy wrote. */
  readonly keptFiles: readonly string[];
  /** What could not be proven (the runtime refuses its config on its own); the runtime was then not restarted. */
  readonly unproven: readonly string[];
  readonly restarted: boolean;
  readonly readiness: Readiness | undefined;
}

/**
 * The exact inverse of install, driven by the ledger: the runtime config goes back to the operator's
 * bytes (or, if they edited it since, loses only our keys), the runtime restarts only if its files
 * changed, then our Kata configs, payload and state go. Running it twice is a no-op.
 */
export async function uninstall(ctx: TransactionContext): Promise<UninstallResult> {
  const { fs, log, settings } = ctx;
  const lock = await acquireHostLock(fs, HOST_LOCK_PATH, ctx.lockTimeoutMs ?? 600_000, ctx.clock, log);
  try {
    const store = new LedgerStore(fs, stateDir(settings));
    const ledger = await store.read();
    if (ledger !== undefined) assertLedgerInScope(ledger, ledgerScopeFor(settings, ctx.runtimeConfigDirs), store.path);
    if (ledger === undefined) {
      const { removedLeftovers } = await ctx.payload.recover(undefined);
      log.info({ removedLeftovers }, 'nothing to uninstall: no kata-deploy ledger on this node');
      return {
        nothingInstalled: true,
        removedLeftovers,
        restoredFiles: [],
        removedPayloadFiles: 0,
        keptFiles: [],
        unproven: [],
        restarted: false,
        readiness: undefined,
      };
    }
    await ctx.payload.installedDigest(); // reads the manifests: a damaged or planted one refuses before any change
    const { removedLeftovers } = await ctx.payload.recover(committedPayloadDigest(ledger));
    const tx = new FileTransaction(fs, store, ledger, ctx.clock);
    let runtimeTouched = false;
    if (runInProgress(ledger)) {
      log.warn({ phase: ledger.phase }, 'a previous run was interrupted; rolling its changes back first');
      runtimeTouched = (await tx.rollback()).runtimeReadsChanged;
    }
    const removal = ledger.runtimeConfig === undefined ? [] : await ctx.runtimeConfig.planRemoval(ledger.runtimeConfig);
    const unproven = [
      ...new Set(removal.flatMap((change) => (change.unproven === undefined ? [] : [change.unproven]))),
    ];
    if (unproven.length > 0)
      log.warn({ unproven }, 'removing our handlers without proof: the runtime config is refused on its own');
    await tx.update({ phase: 'uninstalling' });
    const changed = await tx.apply(removal, true);
    const restartable = settings.restart !== 'none' && unproven.length === 0;
    if (changed.length === 0 && !runtimeTouched && ctx.control !== undefined && restartable) {
      const live = await ctx.control.liveHandlers().catch(() => undefined);
      runtimeTouched = (live ?? []).some((name) => ledger.handlers.includes(name));
      if (runtimeTouched)
        log.warn('the runtime still serves our handlers although its config no longer has them; restarting it');
    }
    failpoint(settings, 'uninstall:after-runtime-config');
    const restart = (changed.length > 0 || runtimeTouched) && restartable && (ctx.control?.restarts ?? false);
    let readiness: Readiness | undefined;
    if (ctx.control !== undefined && restartable && (changed.length > 0 || runtimeTouched)) {
      readiness = await restartAndConfirm(ctx, tx, restart, ctx.control.baseHandlers);
      const live = await ctx.control.liveHandlers();
      const left = (live ?? []).filter((name) => ledger.handlers.includes(name));
      if (left.length > 0) log.warn({ handlers: left }, 'the runtime still serves handlers we removed');
    }
    failpoint(settings, 'uninstall:after-restart');
    await tx.commit();
    failpoint(settings, 'uninstall:after-commit');
    const runtimeFiles = new Set(removal.filter((change) => !isNoop(change)).map((change) => change.path));
    await tx.forget((file) => file.runtimeReads);
    const restored = await tx.restoreOriginals();
    await removeShimLinks(ctx, tx);
    failpoint(settings, 'uninstall:after-kata-configs');
    const { removed, kept } = await ctx.payload.remove();
    failpoint(settings, 'uninstall:after-payload');
    await store.remove(tx.ledger);
    log.info({ restarted: restart, removedPayloadFiles: removed }, 'Kata is uninstalled');
    return {
      nothingInstalled: false,
      removedLeftovers,
      restoredFiles: [...runtimeFiles, ...restored.restored],
      removedPayloadFiles: removed,
      keptFiles: [...restored.left, ...kept],
      unproven,
      restarted: restart,
      readiness,
    };
  } catch (error) {
    throw unexpectedRunFailure('uninstall', error);
  } finally {
    lock.release();
  }
}
