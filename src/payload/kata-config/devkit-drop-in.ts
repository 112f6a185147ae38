import type { PristineConfig } from './pristine.js';
import { tomlString } from './toml-text.js';

/** Where upstream's devkit extension image and its dm-verity root hash live, relative to the install dir. */
export const DEVKIT_IMAGE_REL = 'share/kata-containers/kata-containers-devkit-extension.img';
export const DEVKIT_ROOT_HASH_REL = 'share/kata-containers/root_hash_devkit-extension.txt';

/** What the payload says about the devkit extension: its host path and dm-verity parameters, if measured. */
export interface DevkitFacts {
  readonly imagePath: string;
  /** The root-hash file's first non-empty line; undefined when the payload ships none (mounted unverified). */
  readonly verityParams: string | undefined;
}

/** The devkit facts from the payload's root-hash file (bytes, or undefined when absent), as upstream reads it. */
export function devkitFacts(installDir: string, rootHash: Buffer | undefined): DevkitFacts {
  const line = rootHash
    ?.toString('utf8')
    .split('\n')
    .map((text) => text.trim())
    .find((text) => text !== '');
  return { imagePath: `${installDir}/${DEVKIT_IMAGE_REL}`, verityParams: line };
}

interface GuestExtension {
  readonly name: string;
  readonly path: string;
  readonly verity_params?: string;
}

/** The pristine config's own guest extension images, in order, without a `devkit` one (ours goes last). */
function shippedExtensions(pristine: PristineConfig): GuestExtension[] {
  const images = pristine.hypervisor.guest_extension_images;
  if (!Array.isArray(images)) return [];
  return images.flatMap((image: Record<string, unknown>) =>
    typeof image.name === 'string' && typeof image.path === 'string' && image.name !== 'devkit'
      ? [
          {
            name: image.name,
            path: image.path,
            ...(typeof image.verity_params === 'string' ? { verity_params: image.verity_params } : {}),
          },
        ]
      : [],
  );
}

/**
 * `config.d/25-devkit.toml` of a `-devkit` handler, as upstream writes it: the agent debug console on, and
 * the guest extension images with devkit attached last. A drop-in replaces an array as a whole, so the
 * shipped extensions are repeated first, in order (stable device enumeration, and the guest being debugged
 * changes as little as possible). The copied base config itself is left untouched.
 */
export function renderDevkitDropIn(handler: string, pristine: PristineConfig, facts: DevkitFacts): string {
  const images: GuestExtension[] = [
    ...shippedExtensions(pristine),
    {
      name: 'devkit',
      path: facts.imagePath,
      ...(facts.verityParams === undefined ? {} : { verity_params: facts.verityParams }),
    },
  ];
  const hypervisorKey = /^[A-Za-z0-9_-]+$/.test(pristine.hypervisorName)
    ? pristine.hypervisorName
    : tomlString(pristine.hypervisorName);
  const lines = [
    `# Written by kata-deploy for runtime handler ${handler}: the devkit debug extension (DEVKIT=true).`,
    '# Rewritten on every install and removed on uninstall; put your own settings in another file here.',
    '# The shipped guest_extension_images are repeated before devkit: a drop-in replaces the whole array.',
    '',
    `[agent.${pristine.agentName}]`,
    'debug_console_enabled = true',
  ];
  for (const image of images) {
    lines.push('', `[[hypervisor.${hypervisorKey}.guest_extension_images]]`);
    lines.push(`name = ${tomlString(image.name)}`, `path = ${tomlString(image.path)}`);
    if (image.verity_params !== undefined) lines.push(`verity_params = ${tomlString(image.verity_params)}`);
  }
  return `${lines.join('\n')}\n`;
}
