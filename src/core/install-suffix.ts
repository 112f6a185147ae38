import { SHIM_CATALOGUE } from './shims.js';

/**
 * Name tails that turn one shim's handler into another's: `kata-qemu` + `-snp` is `kata-qemu-snp`. A
 * suffix starting with one would make a suffixed install's handler the very handler of another install.
 */
function shimTails(): string[] {
  const names = [...SHIM_CATALOGUE.keys()];
  return names.flatMap((a) => names.filter((b) => b.startsWith(`${a}-`)).map((b) => b.slice(a.length + 1)));
}

/**
 * Why a MULTI_INSTALL_SUFFIX would share another install's names, or undefined when it is its own
 * namespace. Each install owns its state dir (`/var/lib/kata-deploy/<suffix or default>`), its handlers
 * (`kata-<shim>[-<suffix>][-debug|-devkit]`) and its drop-in: `default` is the default install's state dir, a
 * `debug` or `devkit` ending is another install's variant handler, and a shim-name tail is another shim's handler.
 * Sharing any of them lets one install remove the other's handlers and orphan its files.
 */
export function suffixCollision(suffix: string): string | undefined {
  if (suffix === 'default') return "its state dir would be the default install's (/var/lib/kata-deploy/default)";
  for (const variant of ['debug', 'devkit'])
    if (suffix === variant || suffix.endsWith(`-${variant}`))
      return `its handlers would be the ${variant} handlers (kata-<shim>-…-${variant}) of another install`;
  const tail = shimTails().find((name) => suffix === name || suffix.startsWith(`${name}-`));
  if (tail === undefined) return undefined;
  const shim = [...SHIM_CATALOGUE.keys()].find((name) => SHIM_CATALOGUE.has(`${name}-${tail}`));
  return `its handler kata-${shim}-${suffix} would be shim ${shim}-${tail}'s handler of another install`;
}
