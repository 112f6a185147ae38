import { KataDeployError } from '../core/errors.js';
import type { HandlerSpec } from '../core/handlers.js';
import type { HostFs } from '../host/host-fs.js';
import {
  DEVKIT_IMAGE_REL,
  DEVKIT_ROOT_HASH_REL,
  devkitFacts,
  type DevkitFacts,
} from '../payload/kata-config/devkit-drop-in.js';
import type { StagedPayload } from '../payload/index.js';
import type { PayloadFiles } from '../transaction/parts.js';

/**
 * The staged payload's tree as PayloadFiles: what its manifest lists, and the small files the unpack kept
 * (read from the installed tree when the same payload is already in place, since nothing was unpacked).
 */
export function payloadFilesOf(staged: StagedPayload, fs: HostFs): PayloadFiles {
  const paths = new Set(staged.manifest.entries.map((entry) => entry.path));
  return {
    has: (relPath) => paths.has(relPath),
    async readSmall(relPath) {
      if (!paths.has(relPath)) return undefined;
      const kept = staged.pristineConfigs.get(relPath);
      if (kept !== undefined || !staged.unchanged) return kept;
      return fs.readIfExists(`${staged.location.installDir}/${relPath}`);
    },
  };
}

/**
 * DEVKIT's facts from the payload when a `-devkit` handler is wanted; refuses (exit 4) a payload without
 * the extension image, which upstream ships as its own artifact, since the handler would boot without it.
 */
export async function devkitFactsFor(
  handlers: readonly HandlerSpec[],
  files: PayloadFiles | undefined,
  installDir: string,
): Promise<DevkitFacts | undefined> {
  if (!handlers.some((handler) => handler.devkit === true)) return undefined;
  if (files === undefined || !files.has(DEVKIT_IMAGE_REL))
    throw new KataDeployError('bad-payload', `DEVKIT=true but the payload has no ${DEVKIT_IMAGE_REL}`, {
      hint:
        'use a payload that ships the devkit extension image (upstream: rootfs-image-devkit-extension), or ' +
        'set DEVKIT=false; nothing was changed',
    });
  return devkitFacts(installDir, await files.readSmall(DEVKIT_ROOT_HASH_REL));
}
