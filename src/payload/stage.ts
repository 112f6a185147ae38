import { mkdirSync, rmSync, statSync } from 'node:fs';
import { shimConfigRelPath, shimInfos } from '../core/shims.js';
import { KataDeployError } from '../core/errors.js';
import { DEFAULT_LIMITS } from './entry-policy.js';
import {
  plannedLocation,
  prepareLocation,
  removeCreatedDirs,
  stagingPathFor,
  type InstallLocation,
} from './install-location.js';
import { installedFacts, isRootOf, treeIntact } from './installed-tree.js';
import { fileIdentity } from './local-archive.js';
import { entriesFromIndex, readManifests, sameTree, type PayloadManifest, type PayloadSource } from './manifest.js';
import { assertInstallDirIsOurs, assertNoForeignCollisions } from './ownership.js';
import { isRemote, pumpPayload } from './pump-payload.js';
import { checkShimRequirements } from './requirements.js';
import { resolveInterruptedSwitch } from './switch-recovery.js';
import { TarParser } from './tar-parser.js';
import { redactUrl } from '../core/redact.js';
import { processUmask, TreeWriter } from './tree-writer.js';
import { DigestWorker } from './digest-worker.js';
import type { PayloadPorts, PayloadSettings, StagedPayload } from './types.js';

/** Size, mtime, ctime and inode of a local payload (equal identity, equal bytes), and its size. */
function localIdentity(file: string): { identity: string; size: number } {
  try {
    const stats = statSync(file);
    if (!stats.isFile()) throw new Error('not a regular file');
    return { identity: fileIdentity(stats), size: stats.size };
  } catch (error) {
    throw new KataDeployError('bad-payload', `cannot read the payload "${file}": ${(error as Error).message}`, {
      hint: 'check --payload / KATA_PAYLOAD (a path inside the kata-deploy image, or an https:// URL)',
      cause: error,
    });
  }
}

/** The checksum the archive must have: given, published next to a URL, or none (local files, opt-in). */
async function expectedChecksum(settings: PayloadSettings, ports: PayloadPorts): Promise<string | undefined> {
  if (settings.payloadSha256 !== undefined || !isRemote(settings.payload)) return settings.payloadSha256;
  const { fetchPublishedChecksum } = await import('./remote-source.js');
  const published = await fetchPublishedChecksum(settings.payload, ports.fetch ?? {});
  if (published === undefined && !settings.allowUnverifiedPayload) {
    throw new KataDeployError(
      'bad-payload',
      `payload URL ${redactUrl(settings.payload)} has no checksum: no --payload-sha256 and no .sha256 beside it`,
      {
        hint:
          'pass --payload-sha256 <hex>, publish <url>.sha256, or pass --allow-unverified-payload to accept it ' +
          'unverified',
      },
    );
  }
  return published;
}

function sameSource(recorded: PayloadSource, source: PayloadSource): boolean {
  if (recorded.location !== source.location) return false;
  if (source.sha256 !== undefined)
    return (
      recorded.sha256 === source.sha256 && (source.identity === undefined || recorded.identity === source.identity)
    );
  return source.identity !== undefined && recorded.identity === source.identity;
}

/** How to stage: `validateOnly` (--dry-run) checks everything and writes nothing. */
export interface StageOptions {
  readonly validateOnly?: boolean;
  /**
   * Called at most once, mid-unpack, as soon as every selected shim's pristine config has been read, so the
   * caller can plan from them while the rest unpacks. They are the bytes the stage ends with (a later copy
   * that differs fails it); the caller must still wait for the stage before acting on its plan.
   */
  readonly onPristineConfigs?: (configs: ReadonlyMap<string, Buffer>) => void;
  /** Called once the unpack has started: work that needs none of it may start, in the unpack's idle time. */
  readonly onUnpacking?: () => void;
}

/**
 * Reads, verifies and unpacks the payload into a hidden staging dir beside the install dir, refusing
 * (exit 4, naming the member) anything unsafe or anything the selected shims would miss. Nothing is
 * visible until commitStagedPayload; on failure the staging dir and any parent we created are gone.
 * When the same payload is already installed intact, returns `unchanged` after a few stats. With
 * `validateOnly`, every member is still judged and hashed, the checksum and the shims' requirements
 * checked and the pristine configs read, but into a null sink: no staging dir, no parent created, no
 * leftover of an earlier run touched; the result cannot be committed.
 */
export async function stagePayload(
  settings: PayloadSettings,
  ports: PayloadPorts,
  options: StageOptions = {},
): Promise<StagedPayload> {
  const validateOnly = options.validateOnly === true;
  const shims = shimInfos(settings.shims);
  const remote = isRemote(settings.payload);
  const expected = await expectedChecksum(settings, ports);
  const local = remote ? undefined : localIdentity(settings.payload);
  const source: PayloadSource = { location: redactUrl(settings.payload), sha256: expected, identity: local?.identity };
  if (!validateOnly) await resolveInterruptedSwitch(settings, ports);
  const { current, pending } = await readManifests(settings, ports.fs);
  await assertInstallDirIsOurs(ports.fs, settings.installDir, [current, pending]);

  if (
    current !== undefined &&
    pending === undefined &&
    current.installDir === settings.installDir &&
    sameSource(current.source, source)
  ) {
    const installReal = await ports.fs.realPath(settings.installDir).catch(() => undefined);
    if (installReal !== undefined && isRootOf(installReal, current) && treeIntact(installReal, current.entries)) {
      checkShimRequirements(shims, settings.arch, installedFacts(installReal, current.entries));
      ports.log.info({ payload: redactUrl(settings.payload) }, 'payload already installed and intact');
      const location: InstallLocation = {
        installDir: settings.installDir,
        installReal,
        installExists: true,
        createdDirs: current.createdDirs,
        parentReal: installReal.replace(/\/[^/]+$/, ''),
      };
      return {
        unchanged: true,
        manifestOnly: false,
        stagingDir: undefined,
        location,
        manifest: current,
        pristineConfigs: new Map(),
      };
    }
  }

  const location = validateOnly
    ? await plannedLocation(ports.fs, settings.installDir)
    : await prepareLocation(ports.fs, settings.installDir);
  const stagingDir = validateOnly ? undefined : stagingPathFor(location);
  // Files are not hashed one by one; the archive is hashed (on a worker reading the same open file) only
  // when a checksum must be verified: hashing 300 MB costs as much CPU as writing the tree.
  const archiveDigest = expected === undefined || remote ? undefined : DigestWorker.tryStart();
  const awaited = new Set(shims.map(shimConfigRelPath));
  const onKept = (rel: string): void => {
    if (awaited.delete(rel) && awaited.size === 0) options.onPristineConfigs?.(writer.kept);
  };
  const writer = new TreeWriter(stagingDir, ports.limits ?? DEFAULT_LIMITS, processUmask(), onKept);
  try {
    if (stagingDir !== undefined) mkdirSync(stagingDir, { mode: 0o755 });
    const started = ports.clock.now();
    ports.log.debug('phase: payload unpack starts');
    const parser = new TarParser(writer.onEntry);
    const pumping = pumpPayload(settings, ports, parser, writer, expected !== undefined, local?.size, archiveDigest);
    options.onUnpacking?.();
    const facts = await pumping;
    if (expected !== undefined && facts.sha256 !== expected) {
      throw new KataDeployError(
        'bad-payload',
        `payload ${redactUrl(settings.payload)} has sha256 ${facts.sha256}, expected ${expected} (checksum mismatch)`,
        {
          hint: 'the download is corrupt or the payload was replaced; fetch it again or fix --payload-sha256',
        },
      );
    }
    await writer.finish();
    checkShimRequirements(shims, settings.arch, {
      index: writer.index,
      configs: writer.kept,
      elfMachines: writer.elfMachines,
    });
    const entries = entriesFromIndex(writer.index, writer.signatures);
    if (location.installExists) {
      const ours = new Set([...(current?.entries ?? []), ...(pending?.entries ?? [])].map((entry) => entry.path));
      assertNoForeignCollisions(settings.installDir, location.installReal, entries, ours);
    }
    ports.log.info(
      {
        payload: redactUrl(settings.payload),
        compression: facts.compression,
        entries: writer.index.nodes.size,
        ms: ports.clock.now() - started,
      },
      validateOnly ? 'payload checked; nothing written (dry run)' : 'payload unpacked into staging',
    );
    const manifest: PayloadManifest = {
      version: 1,
      installDir: settings.installDir,
      rootInode: stagingDir === undefined ? undefined : statSync(stagingDir).ino,
      source: { ...source, sha256: facts.sha256 ?? expected, identity: facts.identity ?? source.identity },
      createdDirs: current?.installDir === settings.installDir ? current.createdDirs : location.createdDirs,
      entries,
    };
    if (
      current !== undefined &&
      pending === undefined &&
      current.installDir === settings.installDir &&
      sameTree(current, manifest) &&
      isRootOf(location.installReal, current) &&
      treeIntact(location.installReal, current.entries)
    ) {
      if (stagingDir !== undefined) rmSync(stagingDir, { recursive: true, force: true });
      return {
        unchanged: true,
        manifestOnly: !validateOnly,
        stagingDir: undefined,
        location,
        // The installed files stay: their signatures, not the discarded staging copies', are the record.
        manifest: { ...manifest, rootInode: current.rootInode, entries: current.entries },
        pristineConfigs: writer.kept,
      };
    }
    const planned = validateOnly ? { ...location, createdDirs: [] } : location;
    return {
      unchanged: false,
      manifestOnly: false,
      stagingDir,
      location: planned,
      manifest,
      pristineConfigs: writer.kept,
    };
  } catch (error) {
    await writer.abandon();
    if (stagingDir !== undefined) {
      rmSync(stagingDir, { recursive: true, force: true });
      await removeCreatedDirs(
        ports.fs,
        location.createdDirs.filter((dir) => dir !== settings.installDir),
      );
    }
    throw error;
  } finally {
    await archiveDigest?.close();
  }
}

/** Drops a staged payload that will not be committed (another step of the install failed). */
export async function discardStagedPayload(staged: StagedPayload, ports: PayloadPorts): Promise<void> {
  if (staged.stagingDir !== undefined) rmSync(staged.stagingDir, { recursive: true, force: true });
  await removeCreatedDirs(
    ports.fs,
    staged.location.createdDirs.filter((dir) => dir !== staged.location.installDir),
  );
}
