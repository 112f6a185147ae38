import { describe, expect, it } from 'vitest';
import type { KataDeployError } from '../../src/core/errors.js';
import { handlersFor } from '../../src/core/handlers.js';
import { SHIM_CATALOGUE } from '../../src/core/shims.js';
import { parseSettings } from '../../src/settings/parse-settings.js';

function parse(env: Record<string, string>) {
  return parseSettings({ env, flags: {}, arch: 'x86_64' });
}

function refusal(suffix: string): KataDeployError {
  try {
    parse({ MULTI_INSTALL_SUFFIX: suffix });
  } catch (error) {
    return error as KataDeployError;
  }
  throw new Error(`MULTI_INSTALL_SUFFIX=${suffix} was accepted`);
}

describe('MULTI_INSTALL_SUFFIX gives each install its own namespace', () => {
  it.each([
    ['default', /state dir would be the default install's/],
    ['debug', /debug handlers/],
    ['blue-debug', /debug handlers/],
    ['snp', /kata-qemu-snp would be shim qemu-snp's handler/],
    ['runtime-rs', /would be shim qemu-runtime-rs's handler/],
    ['nvidia-gpu-blue', /would be shim qemu-nvidia-gpu's handler/],
  ])('refuses "%s" with exit 2, naming the variable', (suffix, why) => {
    const error = refusal(suffix);
    expect(error.exitCode).toBe(2);
    expect(error.message).toMatch(/MULTI_INSTALL_SUFFIX/);
    expect(error.message).toMatch(why);
  });

  it('accepts an ordinary suffix, and no accepted suffix names a handler of another install', () => {
    expect(parse({ MULTI_INSTALL_SUFFIX: 'blue' }).multiInstallSuffix).toBe('blue');
    const every = [...SHIM_CATALOGUE.values()]
      .filter((info) => info.arches.includes('x86_64'))
      .map((info) => info.name)
      .join(' ');
    const names = (env: Record<string, string>) =>
      handlersFor(parse({ SHIMS: every, DEBUG: 'true', ...env })).map((handler) => handler.name);
    const defaults = new Set(names({}));
    for (const suffix of ['blue', 'green', 'a1', 'qemu', 'clh']) {
      for (const name of names({ MULTI_INSTALL_SUFFIX: suffix })) expect(defaults.has(name), name).toBe(false);
    }
  });
});
