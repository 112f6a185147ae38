import { KataDeployError } from '../core/errors.js';
import type { ConfigValidator, RuntimeConfigRecord, RuntimeConfigRequest } from '../containerd/config/index.js';
import { containerdValidator } from '../containerd/config/validator.js';
import type { CommandRunner } from '../host/command-runner.js';
import type { HostFs } from '../host/host-fs.js';
import { installerScratch, missingDirs, type ScratchSpace, sweepLeftovers } from '../host/scratch-space.js';
import { HOST_LOCK_PATH, STATE_ROOT } from '../core/paths.js';
import type { PayloadPart, RuntimeConfigPart } from '../transaction/parts.js';
import { SharedValidations } from '../containerd/config/shared-validations.js';
import { isNoop } from '../core/file-change.js';
import type { ValidatorChoice } from './validator-binary.js';
import { acceptedConfigKey } from './accepted-config.js';

/**
 * The planner and its TOML parser, loaded on first use rather than at start: install first uses them once the
 * payload has begun to unpack, so their ~35 modules load while the unpack waits on its writes.
 */
async function planner() {
  const [config, plan, removal] = await Promise.all([
    import('../containerd/config/index.js'),
    import('../containerd/config/validate-plan.js'),
    import('../containerd/config/unprovable-removal.js'),
  ]);
  return { ...config, ...plan, ...removal };
}

/** The host lock's directory (/run/kata-deploy, a tmpfs): every run that holds the lock has it already. */
const LOCK_DIR = HOST_LOCK_PATH.slice(0, HOST_LOCK_PATH.lastIndexOf('/'));

/**
 * Per-run scratch dirs in the lock's directory when it exists (every locked run: install, uninstall), so a
 * converged reinstall leaves even the times of /var/lib/kata-deploy alone; else (a dry run on a node that
 * never had a run) under the state dir, whose parents it creates and removes again. The first open also
 * sweeps what killed runs left in the state dir, where older releases put them.
 */
function validationScratch(fs: HostFs): ScratchSpace {
  const besideLock = installerScratch(fs, LOCK_DIR);
  const inStateDir = installerScratch(fs, STATE_ROOT);
  let swept = false;
  // The parents of the state dir that were missing when the first of the open scratch dirs there was made:
  // the last one to go removes them (each removes only what it created, which a concurrent one took for
  // existing dirs).
  let openInStateDir = 0;
  let missingParents: Promise<string[]> = Promise.resolve([]);
  const lastOneOut = async (): Promise<void> => {
    openInStateDir -= 1;
    if (openInStateDir > 0) return;
    for (const dir of [...(await missingParents)].reverse()) await fs.rmdir(dir).catch(() => undefined);
  };
  return {
    async open() {
      if (!(await fs.exists(LOCK_DIR))) {
        openInStateDir += 1;
        if (openInStateDir === 1) missingParents = missingDirs(fs, STATE_ROOT);
        await missingParents;
        const dir = await inStateDir.open().catch(async (error: unknown) => {
          await lastOneOut();
          throw error;
        });
        return {
          path: dir.path,
          async release() {
            try {
              await dir.release();
            } finally {
              await lastOneOut();
            }
          },
        };
      }
      if (!swept && (await fs.exists(STATE_ROOT))) await sweepLeftovers(await fs.realPath(STATE_ROOT));
      swept = true;
      return besideLock.open();
    },
  };
}

/**
 * Validation started before the plan: `warm` (once per run) has containerd check the current config while
 * the payload unpacks (it needs nothing from the payload); `settled` waits for that run when no plan will read it.
 */
export interface EarlyValidation {
  warm(): void;
  settled(): Promise<void>;
}

/** The payload part with the runtime config's current-config validation running while the payload stages. */
export function validatingWhileStaging(payload: PayloadPart, runtimeConfig: EarlyValidation): PayloadPart {
  return {
    ...payload,
    async stage(hooks = {}) {
      const onUnpacking = () => {
        runtimeConfig.warm();
        hooks.onUnpacking?.();
      };
      try {
        return await payload.stage({ ...hooks, onUnpacking });
      } catch (error) {
        await runtimeConfig.settled();
        throw error;
      }
    },
    async discard(staged) {
      try {
        await payload.discard(staged);
      } finally {
        await runtimeConfig.settled();
      }
    },
  };
}

/**
 * The runtime-config area (src/containerd/config) as the transaction's RuntimeConfigPart: read the
 * host's files, have the host's containerd accept the current config, plan, and have it accept the
 * result too — all before the transaction writes anything. Both containerd runs overlap, and a plan
 * that changes nothing (a converged reinstall) runs containerd once. The scratch copies containerd
 * reads go to per-run dirs beside the host lock (validationScratch); `onScratchWritten` is the crash tests'
 * failpoint there.
 */
export function runtimeConfigPart(
  request: Omit<RuntimeConfigRequest, 'handlers'>,
  fs: HostFs,
  runner: CommandRunner,
  containerd: Promise<ValidatorChoice>,
  onScratchWritten?: () => void,
): RuntimeConfigPart & EarlyValidation {
  const scratch = validationScratch(fs);
  const ready = containerd.then((choice) =>
    containerdValidator({
      runner,
      scratch,
      ...(onScratchWritten === undefined ? {} : { onScratchWritten }),
      binary: choice.binary,
      ...(choice.loaderRoot === undefined ? {} : { loaderRoot: choice.loaderRoot }),
    }),
  );
  ready.catch(() => undefined);
  const validator: ConfigValidator = { validate: async (main, files) => (await ready).validate(main, files) };
  let early: SharedValidations | undefined;
  // Settles once warm()'s prefetch is registered with `early` (or failed): until then settled() could miss it.
  let warming: Promise<void> = Promise.resolve();
  // Once per run: a warm() after the plan took its validations would start a containerd run nobody reads.
  let warmed = false;
  return {
    warm() {
      if (request.flavour === 'crio' || warmed) return;
      warmed = true;
      const shared = new SharedValidations(validator);
      early = shared;
      const full: RuntimeConfigRequest = { ...request, handlers: [] };
      warming = planner().then(
        async (p) => {
          const current = await p.readRuntimeConfigInputs(fs, full);
          shared.prefetch(p.validatedMainConfig(full), p.filesForValidation(full, current));
        },
        () => undefined,
      );
      warming = warming.catch(() => undefined);
    },
    async settled() {
      await warming;
      await early?.settled();
    },
    async plan(handlers, previousRecord) {
      const {
        applyChanges,
        assertChangedConfigAccepted,
        assertCurrentConfigAccepted,
        filesForValidation,
        planRuntimeConfig,
        readRuntimeConfigInputs,
        validatedMainConfig,
        withEffectiveRunc,
      } = await planner();
      // The validator's release-line refusal, even for a plan that runs no containerd: still before any change.
      await ready;
      await warming;
      const full: RuntimeConfigRequest = { ...request, handlers };
      const previous = previousRecord as RuntimeConfigRecord | undefined;
      const current = await readRuntimeConfigInputs(fs, full, previous);
      const main = validatedMainConfig(full);
      const keyOf = async (files: ReadonlyMap<string, Buffer | undefined>) =>
        request.flavour === 'crio'
          ? undefined
          : acceptedConfigKey(await containerd, main, filesForValidation(full, files));
      // A plan that changes nothing, on the very bytes containerd accepted for this install, with the very same
      // binary (acceptedConfigKey), has containerd's verdict already: a converged reinstall runs no containerd.
      const recorded = previous?.acceptedConfig;
      if (recorded !== undefined && request.userDropIn === undefined && (await keyOf(current)) === recorded) {
        const unchanged = planRuntimeConfig(full, current, previous);
        if (!unchanged.record.addedRunc && unchanged.changes.every(isNoop)) {
          await early?.settled();
          early = undefined;
          return { changes: unchanged.changes, record: { ...unchanged.record, acceptedConfig: recorded } };
        }
      }
      // One containerd run per distinct candidate (a converged plan validates the current config once), and
      // the changed config goes through containerd while the current one does. Only a plan that adds runc
      // (containerd 1.x, none configured) waits: it copies the effective runc from the current dump. A run
      // `warm` started reads as a verdict only for the very bytes read here (the runs are keyed by content).
      const shared = early ?? new SharedValidations(validator);
      early = undefined;
      try {
        const currentAccepted = assertCurrentConfigAccepted(shared, full, current);
        currentAccepted.catch(() => undefined);
        let early: ReturnType<typeof planRuntimeConfig>;
        try {
          early = planRuntimeConfig(full, current, previous);
        } catch (error) {
          await currentAccepted;
          throw error;
        }
        if (!early.record.addedRunc && request.flavour !== 'crio')
          shared.prefetch(validatedMainConfig(full), filesForValidation(full, applyChanges(current, early.changes)));
        const currentDump = await currentAccepted;
        const planned = withEffectiveRunc(full, currentDump);
        const plan = early.record.addedRunc ? planRuntimeConfig(planned, current, previous) : early;
        await assertChangedConfigAccepted(shared, planned, current, plan, currentDump, previous);
        const accepted = await keyOf(applyChanges(current, plan.changes));
        return {
          changes: plan.changes,
          record: { ...plan.record, ...(accepted === undefined ? {} : { acceptedConfig: accepted }) },
        };
      } finally {
        await shared.settled();
      }
    },
    async planRemoval(record) {
      const {
        applyChanges,
        filesForValidation,
        keepImportedDropIns,
        planRuntimeConfigRemoval,
        readRuntimeConfigInputs,
        validatedMainConfig,
      } = await planner();
      await ready;
      const recorded = record as RuntimeConfigRecord;
      const full: RuntimeConfigRequest = { ...request, handlers: [] };
      const current = await readRuntimeConfigInputs(fs, full, recorded);
      const planned = planRuntimeConfigRemoval(recorded, current);
      if (request.flavour === 'crio' || planned.every(isNoop)) return planned;
      const main = validatedMainConfig(full);
      const removal = keepImportedDropIns(planned, main, applyChanges(current, planned).get(main));
      const verdict = await validator.validate(main, filesForValidation(full, applyChanges(current, removal)));
      const already = verdict.ok ? verdict : await validator.validate(main, filesForValidation(full, current));
      if (!already.ok) {
        const unproven =
          `${main}: containerd refuses it on its own (${already.message}); kata-deploy removed its handlers ` +
          'without proof that containerd accepts the result';
        return removal.map((change) => ({ ...change, unproven }));
      }
      if (!verdict.ok) {
        throw new KataDeployError(
          'config-refused',
          `containerd would refuse ${main} with the Kata handlers removed: ${verdict.message}`,
          {
            hint:
              'nothing was changed; the config was edited since install in a way kata-deploy cannot undo ' +
              'safely: remove the kata-* runtimes by hand',
          },
        );
      }
      return removal;
    },
  };
}
