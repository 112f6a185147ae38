import type { ModulesReport } from '../detect/kernel-modules.js';
import { modulesLoadChange } from './kernel-modules-part.js';
import { devkitFactsFor, payloadFilesOf } from './devkit-part.js';
import { withPodAnnotations } from '../payload/kata-config/handler-annotations.js';
import { createHash } from 'node:crypto';
import { KataDeployError } from '../core/errors.js';
import { SHIM_CATALOGUE, shimConfigRelPath, shimInfos } from '../core/shims.js';
import {
  commitStagedPayload,
  damagedPayloadFiles,
  discardStagedPayload,
  finalizePayload,
  loadPristineConfigs,
  planKataConfigFiles,
  readInstalledManifest,
  removeOwnPayload,
  resolveInterruptedSwitch,
  revertPayload,
  stagePayload,
  type CommitResult,
  type PayloadManifest,
  type PayloadPorts,
  type StagedPayload,
} from '../payload/index.js';
import type { Settings } from '../settings/settings.js';
import type { KataConfigPart, PayloadPart, StagedPayloadHandle } from '../transaction/parts.js';

interface Handle extends StagedPayloadHandle {
  readonly staged: StagedPayload;
  /** Set by commit, cleared by finalize or revert: a switch is finished exactly once. */
  committed?: CommitResult | undefined;
}

/** A payload's identity: the archive's sha256 when known, else a digest of the tree it installs. */
export function payloadDigest(manifest: PayloadManifest): string {
  if (manifest.source.sha256 !== undefined) return manifest.source.sha256;
  const tree = manifest.entries.map((entry) => JSON.stringify(entry)).join('\n');
  return `tree:${createHash('sha256').update(tree).digest('hex')}`;
}

/** The payload area (src/payload) as the transaction's PayloadPart. */
export function payloadPart(settings: Settings, ports: PayloadPorts): PayloadPart {
  return {
    async recover(committedDigest) {
      const removedLeftovers = await resolveInterruptedSwitch(settings, ports, {
        committed: (pending) => committedDigest !== undefined && payloadDigest(pending) === committedDigest,
      });
      const root = ports.fs.root === '/' ? '' : ports.fs.root;
      return {
        removedLeftovers: removedLeftovers.map((real) => (real.startsWith(root) ? real.slice(root.length) : real)),
      };
    },
    async installedDigest() {
      const manifest = await readInstalledManifest(settings, ports);
      return manifest === undefined ? undefined : payloadDigest(manifest);
    },
    async damagedFiles() {
      return damagedPayloadFiles(settings, ports);
    },
    async stage(hooks = {}) {
      const { onConfigs, onUnpacking } = hooks;
      const onPristineConfigs =
        onConfigs === undefined
          ? undefined
          : (kept: ReadonlyMap<string, Buffer>) => {
              const early = new Map(
                shimInfos(settings.shims).map((shim) => [shim.name, kept.get(shimConfigRelPath(shim))]),
              );
              onConfigs({ readPristine: async (shim) => early.get(shim) });
            };
      const staged = await stagePayload(settings, ports, {
        validateOnly: settings.dryRun,
        ...(onPristineConfigs === undefined ? {} : { onPristineConfigs }),
        ...(onUnpacking === undefined ? {} : { onUnpacking }),
      });
      const pristine = await loadPristineConfigs(staged, shimInfos(settings.shims), ports.fs);
      const handle: Handle = {
        staged,
        unchanged: staged.unchanged,
        digest: payloadDigest(staged.manifest),
        readPristine: async (shim) => pristine.get(shim),
        files: payloadFilesOf(staged, ports.fs),
      };
      return handle;
    },
    async commit(handle) {
      const result = await commitStagedPayload((handle as Handle).staged, settings, ports);
      (handle as Handle).committed = result;
      return { changed: result.changed };
    },
    async finalize(handle) {
      const committed = (handle as Handle).committed;
      (handle as Handle).committed = undefined;
      if (committed !== undefined) await finalizePayload(committed, settings, ports);
    },
    async revert(handle) {
      const committed = (handle as Handle).committed;
      (handle as Handle).committed = undefined;
      if (committed !== undefined) await revertPayload(committed, settings, ports);
    },
    async discard(handle) {
      await discardStagedPayload((handle as Handle).staged, ports);
    },
    async remove() {
      const removal = await removeOwnPayload(settings, ports);
      return { removed: removal.removed.length, kept: removal.kept };
    },
  };
}

/** The per-handler Kata configs (src/payload/kata-config) as the transaction's KataConfigPart. */
export function kataConfigPart(
  settings: Settings,
  ports: Pick<PayloadPorts, 'fs'>,
  modules?: ModulesReport,
): KataConfigPart {
  return {
    async plan(handlers, readPristine, files) {
      const devkit = await devkitFactsFor(handlers, files, settings.installDir);
      const pristine = new Map<string, Buffer>();
      for (const handler of handlers) {
        const bytes = await readPristine(handler.shim.name);
        if (bytes !== undefined) pristine.set(handler.shim.name, bytes);
      }
      // All handlers' current files are read at once: one by one, each await is a thread-pool round trip.
      const handlerFiles = await Promise.all(
        handlers.map(async (handler) => {
          const dir = handler.configPath.slice(0, handler.configPath.lastIndexOf('/'));
          const names = await ports.fs.readdir(`${dir}/config.d`).catch(() => [] as string[]);
          return [handler.configPath, ...names.map((name) => `${dir}/config.d/${name}`)];
        }),
      );
      const paths = [...new Set(handlerFiles.flat())];
      const read = await Promise.all(paths.map((file) => ports.fs.readIfExists(file)));
      const current = new Map<string, Buffer | undefined>(paths.map((file, index) => [file, read[index]]));
      const moduleFiles =
        modules === undefined ? [] : [await modulesLoadChange(ports.fs, settings.multiInstallSuffix, modules)];
      const kataFiles = planKataConfigFiles(
        handlers,
        settings,
        (shim) => {
          const bytes = pristine.get(shim);
          if (bytes === undefined) {
            const info = SHIM_CATALOGUE.get(shim);
            throw new KataDeployError(
              'bad-payload',
              `the payload has no ${info === undefined ? `configuration for shim ${shim}` : shimConfigRelPath(info)}`,
              { hint: `use a kata-static release that ships shim ${shim}, or drop it from SHIMS_<ARCH>` },
            );
          }
          return bytes;
        },
        (hostPath) => current.get(hostPath),
        devkit,
      );
      return [...kataFiles, ...moduleFiles];
    },
    annotate: (handlers, changes, readPristine) =>
      withPodAnnotations(handlers, changes, readPristine, ports.fs, settings.upstream),
  };
}
