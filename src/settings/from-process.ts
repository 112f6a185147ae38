import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { archFromPlatform } from '../core/arch.js';
import { CUSTOM_CONFIGS_DIR } from './custom-runtimes.js';
import { endianness } from 'node:os';
import type { RawFlags } from './options.js';
import { parseSettings } from './parse-settings.js';
import type { Settings } from './settings.js';

/** The one place the program reads its environment: process.env, the platform and the chart's config mounts. */
export function settingsFromProcess(flags: RawFlags): Settings {
  const arch = archFromPlatform(process.arch, endianness());
  return parseSettings({
    env: process.env,
    flags,
    arch,
    readCustomConfigs: () => readCustomConfigs(CUSTOM_CONFIGS_DIR),
    readContainerFile,
  });
}

/** A file of this container (a ConfigMap mount), not of the host; undefined when it does not exist. */
function readContainerFile(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** The chart's custom-configs ConfigMap as mounted in this container (not under the host root). */
function readCustomConfigs(dir: string): { list: string; dropIns: Map<string, string> } | undefined {
  const list = path.join(dir, 'custom-runtimes.list');
  if (!existsSync(list)) return undefined;
  const dropIns = new Map<string, string>();
  for (const name of readdirSync(dir)) {
    const match = /^dropin-(.+)\.toml$/.exec(name);
    if (match !== null) dropIns.set(match[1]!, readFileSync(path.join(dir, name), 'utf8'));
  }
  return { list: readFileSync(list, 'utf8'), dropIns };
}
