import { stateDir } from '../core/paths.js';
import type { TransactionContext } from './context.js';
import { sha256 } from '../core/digest.js';
import { liveHandlerDrift } from './live-handler-drift.js';
import { LedgerStore, runInProgress } from './ledger.js';
import type { ShimResolution } from './parts.js';

/** `kata-deploy status`: what is installed, whether the runtime serves it, and what drifted. */
export interface StatusReport {
  readonly installed: boolean;
  readonly phase: string | undefined;
  readonly handlers: readonly string[];
  readonly payloadDigest: string | undefined;
  readonly payloadSource: string | undefined;
  readonly shims: readonly string[];
  readonly files: readonly { readonly path: string; readonly state: 'as-written' | 'changed' | 'missing' }[];
  readonly live: {
    readonly answered: boolean;
    readonly handlers: readonly string[];
    readonly missing: readonly string[];
  };
  /** For each installed handler, the file the runtime will exec and whether it is our shim. */
  readonly launch: readonly ShimResolution[];
  readonly drift: readonly string[];
  readonly healthy: boolean;
}

/**
 * Compares the ledger with the host and the live runtime; read-only. Healthy means a pod would run our
 * Kata: the files we wrote are as written, every payload file is in place, and each handler we promised
 * is live with our shim and our Kata config.
 */
export async function status(ctx: TransactionContext): Promise<StatusReport> {
  const ledger = await new LedgerStore(ctx.fs, stateDir(ctx.settings)).read();
  const liveHandlers = ctx.control === undefined ? undefined : await ctx.control.liveHandlers().catch(() => undefined);
  if (ledger === undefined) {
    return {
      installed: false,
      phase: undefined,
      handlers: [],
      payloadDigest: undefined,
      payloadSource: undefined,
      shims: [],
      files: [],
      live: { answered: liveHandlers !== undefined, handlers: liveHandlers ?? [], missing: [] },
      launch: [],
      drift: [],
      healthy: false,
    };
  }
  const drift: string[] = [];
  if (runInProgress(ledger))
    drift.push(`a ${ledger.phase} run was interrupted; rerun install or uninstall to converge`);
  if (ledger.phase !== 'installed') drift.push(`phase is ${ledger.phase}`);
  const files = [];
  for (const file of ledger.files) {
    const bytes = await ctx.fs.readIfExists(file.path);
    const state =
      bytes === undefined
        ? file.written === 'absent'
          ? 'as-written'
          : 'missing'
        : sha256(bytes) === file.written
          ? 'as-written'
          : 'changed';
    if (state !== 'as-written') drift.push(`${file.path} is ${state} since kata-deploy wrote it`);
    files.push({ path: file.path, state } as const);
  }
  const installedDigest = await ctx.payload.installedDigest();
  if (installedDigest !== ledger.payloadDigest)
    drift.push(
      `installed payload ${installedDigest ?? 'missing'} differs from the recorded ${ledger.payloadDigest ?? 'none'}`,
    );
  for (const damaged of (await ctx.payload.damagedFiles()).slice(0, 20))
    drift.push(`${damaged} is missing or changed since kata-deploy installed it`);
  const liveRuntimes =
    liveHandlers === undefined ? undefined : await ctx.control?.liveRuntimes?.().catch(() => undefined);
  if (liveRuntimes !== undefined) drift.push(...liveHandlerDrift(ledger.handlers, ctx.handlers, liveRuntimes));
  const missing =
    liveHandlers === undefined ? [...ledger.handlers] : ledger.handlers.filter((name) => !liveHandlers.includes(name));
  if (liveHandlers === undefined) drift.push('the runtime did not answer over its socket');
  else if (missing.length > 0) drift.push(`the live runtime does not serve ${missing.join(', ')}`);
  const installed = ctx.handlers.filter((handler) => ledger.handlers.includes(handler.name));
  const launch = ctx.shims === undefined ? [] : await ctx.shims.resolve(installed);
  for (const entry of launch) {
    if (!entry.launchable) drift.push(`handler ${entry.handler} cannot start a pod: ${entry.reason}`);
  }
  return {
    installed: true,
    phase: ledger.phase,
    handlers: ledger.handlers,
    payloadDigest: ledger.payloadDigest,
    payloadSource: ledger.payloadSource,
    shims: ledger.shims ?? [],
    files,
    live: { answered: liveHandlers !== undefined, handlers: liveHandlers ?? [], missing },
    launch,
    drift,
    healthy: drift.length === 0,
  };
}
