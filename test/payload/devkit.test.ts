import TOML from '@iarna/toml';
import { describe, expect, it } from 'vitest';
import { KataDeployError } from '../../src/core/errors.js';
import { handlersFor } from '../../src/core/handlers.js';
import { SHIM_CATALOGUE } from '../../src/core/shims.js';
import { NodeHostFs } from '../../src/host/node-host-fs.js';
import { planKataConfigFiles } from '../../src/payload/index.js';
import { DEVKIT_IMAGE_REL, DEVKIT_ROOT_HASH_REL, devkitFacts } from '../../src/payload/kata-config/devkit-drop-in.js';
import { isKeptConfig } from '../../src/payload/member-bytes.js';
import { parseSettings } from '../../src/settings/parse-settings.js';
import type { PayloadFiles } from '../../src/transaction/parts.js';
import { kataConfigPart } from '../../src/wiring/payload-parts.js';
import { makeTempRoot } from '../helpers/temp-root.js';
// @ts-expect-error plain ESM script without types
import { renderSampleConfig } from '../../scripts/sample-kata-config.mjs';

type Table = Record<string, unknown>;

/** The qemu pristine config as a release that already ships a guest extension (upstream's `coco`) would have it. */
const SHIPPED_EXTENSION =
  '\n[[hypervisor.qemu.guest_extension_images]]\nname = "coco"\npath = "/opt/kata/share/kata-containers/coco.img"\n' +
  'verity_params = "root_hash=abc"\n';
const pristine = (shim: string): Buffer =>
  Buffer.from(
    `${renderSampleConfig(SHIM_CATALOGUE.get(shim), 'x86_64') as string}${shim === 'qemu' ? SHIPPED_EXTENSION : ''}`,
  );

const settings = parseSettings({
  env: { SHIMS_X86_64: 'qemu clh', DEBUG: 'true', DEVKIT: 'true' },
  flags: {},
  arch: 'x86_64',
});
const handlers = handlersFor(settings);
const DIR = '/opt/kata/share/defaults/kata-containers/custom-runtimes';

function files(entries: Record<string, string>): PayloadFiles {
  return {
    has: (rel) => Object.hasOwn(entries, rel),
    readSmall: async (rel) => (Object.hasOwn(entries, rel) ? Buffer.from(entries[rel] as string) : undefined),
  };
}

describe('DEVKIT with DEBUG: the -devkit handler’s Kata config, as upstream', () => {
  const changes = planKataConfigFiles(
    handlers,
    settings,
    pristine,
    () => undefined,
    devkitFacts('/opt/kata', Buffer.from('\n  root_hash=def salt=01  \n')),
  );
  const written = (file: string) => changes.find((change) => change.path === file)?.after?.toString();

  it('enables the agent debug console and attaches the devkit image last, shipped extensions first', () => {
    const dropIn = TOML.parse(written(`${DIR}/kata-qemu-devkit/config.d/25-devkit.toml`) ?? '') as Table;
    expect(dropIn.agent).toEqual({ kata: { debug_console_enabled: true } });
    expect((dropIn.hypervisor as Table).qemu).toEqual({
      guest_extension_images: [
        { name: 'coco', path: '/opt/kata/share/kata-containers/coco.img', verity_params: 'root_hash=abc' },
        {
          name: 'devkit',
          path: `/opt/kata/${DEVKIT_IMAGE_REL}`,
          verity_params: 'root_hash=def salt=01',
        },
      ],
    });
  });

  it('is a debug variant too (20-debug.toml) with a copy of the pristine config, left untouched', () => {
    expect(written(`${DIR}/kata-qemu-devkit/config.d/20-debug.toml`)).toContain('debug_console_enabled = true');
    expect(written(`${DIR}/kata-qemu-devkit/configuration-qemu.toml`)).toBe(pristine('qemu').toString());
  });

  it('lists only devkit on a shim that ships no extension, and touches no other handler', () => {
    const clh = TOML.parse(written(`${DIR}/kata-clh-devkit/config.d/25-devkit.toml`) ?? '') as Table;
    expect(((clh.hypervisor as Table).clh as Table).guest_extension_images).toEqual([
      { name: 'devkit', path: `/opt/kata/${DEVKIT_IMAGE_REL}`, verity_params: 'root_hash=def salt=01' },
    ]);
    const devkitDropIns = changes.filter((change) => change.path.endsWith('/25-devkit.toml'));
    expect(devkitDropIns.map((change) => change.path)).toEqual([
      `${DIR}/kata-qemu-devkit/config.d/25-devkit.toml`,
      `${DIR}/kata-clh-devkit/config.d/25-devkit.toml`,
    ]);
  });

  it('mounts the image unverified when the payload has no root hash (upstream: s390x)', () => {
    expect(devkitFacts('/opt/kata', undefined)).toEqual({
      imagePath: `/opt/kata/${DEVKIT_IMAGE_REL}`,
      verityParams: undefined,
    });
  });

  it('keeps the root-hash file in memory while unpacking, like the pristine configs', () => {
    expect(isKeptConfig(DEVKIT_ROOT_HASH_REL, 100)).toBe(true);
    expect(isKeptConfig(DEVKIT_IMAGE_REL, 100)).toBe(false);
  });
});

describe('DEVKIT and the payload', () => {
  it('refuses with exit 4 a payload without the devkit extension image', async () => {
    const root = await makeTempRoot({});
    try {
      const part = kataConfigPart(settings, { fs: new NodeHostFs(root.root) });
      const error = await part.plan(handlers, async (shim) => pristine(shim), files({})).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KataDeployError);
      expect((error as KataDeployError).exitCode).toBe(4);
      expect((error as KataDeployError).message).toContain(`DEVKIT=true but the payload has no ${DEVKIT_IMAGE_REL}`);
    } finally {
      await root.cleanup();
    }
  });

  it('plans the devkit drop-in from the payload’s image and root hash', async () => {
    const root = await makeTempRoot({});
    try {
      const part = kataConfigPart(settings, { fs: new NodeHostFs(root.root) });
      const payload = files({ [DEVKIT_IMAGE_REL]: '', [DEVKIT_ROOT_HASH_REL]: 'root_hash=123\n' });
      const changes = await part.plan(handlers, async (shim) => pristine(shim), payload);
      const dropIn = changes.find((change) => change.path === `${DIR}/kata-qemu-devkit/config.d/25-devkit.toml`);
      expect(dropIn?.after?.toString()).toContain('verity_params = "root_hash=123"');
    } finally {
      await root.cleanup();
    }
  });
});
