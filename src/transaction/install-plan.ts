import type { FileChange } from '../core/file-change.js';
import { isNoop } from '../core/file-change.js';
import type { ShimLink } from '../core/shim-lookup.js';
import type { TransactionContext } from './context.js';
import type { FileTransaction } from './file-transaction.js';
import type { PayloadConfigSource, StagedPayloadHandle } from './parts.js';
import { decideRestart, type RestartDecision } from './restart-decision.js';
import { staleCandidates, staleKataConfigChanges } from './stale-kata-configs.js';

/** Everything an install decides before it writes anything: files, links, restart. */
export interface InstallPlan {
  readonly kataChanges: readonly FileChange[];
  /** Kata configs planned for deletion (no wanted handler reads them). */
  readonly stale: ReadonlySet<string>;
  readonly runtimePlan: { readonly changes: FileChange[]; readonly record: unknown };
  readonly linkPlan: { readonly wanted: readonly ShimLink[]; readonly toWrite: readonly ShimLink[] };
  /** Whether the ledger records shim links no handler wants any more. */
  readonly staleLinks: boolean;
  readonly decision: RestartDecision;
  /** The changes that are not no-ops, Kata configs first. */
  readonly changes: readonly FileChange[];
  /** True when the kernel modules were already checked here (`--restart none`: a check loads nothing). */
  readonly modulesChecked: boolean;
}

async function missingLive(ctx: TransactionContext, wanted: readonly string[]): Promise<string[] | undefined> {
  if (ctx.control === undefined || ctx.settings.restart === 'none') return undefined;
  const live = await ctx.control.liveHandlers().catch(() => undefined);
  return live === undefined ? [...wanted] : wanted.filter((name) => !live.includes(name));
}

/** Deletions of the Kata configs earlier installs created that no wanted handler reads (see stale-kata-configs). */
async function staleKataConfigs(ctx: TransactionContext, tx: FileTransaction): Promise<FileChange[]> {
  const root = `${ctx.settings.installDir}/share/defaults/kata-containers/`;
  const current = new Map<string, Buffer | undefined>();
  for (const file of staleCandidates(tx.ledger.files, root)) current.set(file, await ctx.fs.readIfExists(file));
  return staleKataConfigChanges(tx.ledger.files, ctx.handlers, ctx.settings.installDir, current);
}

/**
 * Plans the install from the payload's pristine configs and the host as it is: Kata configs, the runtime
 * config (validated by the host's containerd), shim links and the restart. It reads and asks, never writes,
 * so it may run while the payload still unpacks. With `--restart none` (not a dry run) it also checks the
 * kernel modules, which then loads nothing: a refusal comes before the switch.
 */
export async function planInstall(
  ctx: TransactionContext,
  tx: FileTransaction,
  source: PayloadConfigSource,
  recoveredRuntimeFiles: boolean,
): Promise<InstallPlan> {
  const wanted = ctx.handlers.map((handler) => handler.name);
  const base = ctx.control?.baseHandlers ?? [];
  const recorded = tx.ledger.shimLinks ?? [];
  // The links and the module check need nothing the configs' plan decides: they run beside it, and are awaited
  // in the order they used to run in, so the same failure is reported (and nothing is left running).
  const linkPlanning = ctx.shims?.plan(ctx.handlers, recorded);
  const modulesChecked = ctx.settings.restart === 'none' && !ctx.settings.dryRun;
  const moduleCheck = modulesChecked ? ctx.modules?.load() : undefined;
  try {
    return await planConfigs(ctx, tx, source, recoveredRuntimeFiles, {
      linkPlanning,
      moduleCheck,
      modulesChecked,
      wanted: [...wanted, ...base],
    });
  } finally {
    await Promise.allSettled([linkPlanning, moduleCheck]);
  }
}

async function planConfigs(
  ctx: TransactionContext,
  tx: FileTransaction,
  source: PayloadConfigSource,
  recoveredRuntimeFiles: boolean,
  beside: {
    linkPlanning: ReturnType<NonNullable<TransactionContext['shims']>['plan']> | undefined;
    moduleCheck: Promise<void> | undefined;
    modulesChecked: boolean;
    wanted: readonly string[];
  },
): Promise<InstallPlan> {
  beside.linkPlanning?.catch(() => undefined);
  beside.moduleCheck?.catch(() => undefined);
  const kataChanges = [
    ...(await ctx.kataConfig.plan(ctx.handlers, source.readPristine, source.files)),
    ...(await staleKataConfigs(ctx, tx)),
  ];
  const stale = new Set(kataChanges.filter((change) => change.after === undefined).map((change) => change.path));
  const handlers = await ctx.kataConfig.annotate(ctx.handlers, kataChanges, source.readPristine);
  ctx.log.debug('phase: Kata configs planned');
  const runtimePlan = await ctx.runtimeConfig.plan(handlers, tx.ledger.runtimeConfig);
  ctx.log.debug('phase: runtime config planned and validated');
  const recorded = tx.ledger.shimLinks ?? [];
  const linkPlan = (await beside.linkPlanning) ?? { wanted: [], toWrite: [] };
  const staleLinks = recorded.some((link) => !linkPlan.wanted.some((w) => w.path === link.path));
  const runtimeChanged = runtimePlan.changes.filter((change) => !isNoop(change)).map((change) => change.path);
  const decision = decideRestart({
    mode: ctx.settings.restart,
    runtimeRestarts: ctx.control?.restarts ?? false,
    changedRuntimeFiles: runtimeChanged,
    recoveredRuntimeFiles,
    missingLiveHandlers: runtimeChanged.length > 0 ? undefined : await missingLive(ctx, beside.wanted),
  });
  await beside.moduleCheck;
  const modulesChecked = beside.modulesChecked;
  const changes = [...kataChanges, ...runtimePlan.changes].filter((change) => !isNoop(change));
  return { kataChanges, stale, runtimePlan, linkPlan, staleLinks, decision, changes, modulesChecked };
}

/**
 * Stages the payload and plans the install, overlapped: planning starts as soon as the unpack has read the
 * pristine configs (DEVKIT's facts need the whole tree, so then it waits). The stage's outcome is awaited
 * first, so a bad payload still refuses as such; a failed stage waits for the plan's containerd runs.
 */
export async function stageAndPlan(
  ctx: TransactionContext,
  tx: FileTransaction,
  recoveredRuntimeFiles: boolean,
): Promise<{ staged: StagedPayloadHandle; plan: Promise<InstallPlan> }> {
  let early: Promise<InstallPlan> | undefined;
  const onConfigs = ctx.handlers.some((handler) => handler.devkit === true)
    ? undefined
    : (source: PayloadConfigSource) => {
        early = planInstall(ctx, tx, source, recoveredRuntimeFiles);
        early.catch(() => undefined);
      };
  let staged: StagedPayloadHandle;
  try {
    staged = await ctx.payload.stage(onConfigs === undefined ? {} : { onConfigs });
  } catch (error) {
    await early?.catch(() => undefined);
    throw error;
  }
  ctx.log.debug({ unchanged: staged.unchanged, planStarted: early !== undefined }, 'phase: payload staged');
  const plan = early ?? planInstall(ctx, tx, staged, recoveredRuntimeFiles);
  plan.catch(() => undefined);
  return { staged, plan };
}
