import { archFromPlatform } from '../core/arch.js';
import { endianness } from 'node:os';
import type { RawFlags } from './options.js';
import { parseSettings } from './parse-settings.js';
import type { Settings } from './settings.js';

/** The one place the program reads its environment: process.env and the platform, into Settings. */
export function settingsFromProcess(flags: RawFlags): Settings {
  const arch = archFromPlatform(process.arch, endianness());
  return parseSettings({ env: process.env, flags, arch });
}
