import { KataDeployError } from '../../core/errors.js';
import { FLAVOUR_LAYOUTS } from '../../core/flavours.js';
import { crioDropInDir, crioDropInPath } from '../../crio/crio-plan.js';
import type { HostFs } from '../../host/host-fs.js';
import { DEFAULT_CONF_D, importsConfDByDefault } from './default-imports.js';
import { globDirectory, globMatches, isGlob, resolveImport } from './imports.js';
import { rootImports } from './in-place-edit.js';
import { K0S_DROP_IN_DIR, k3sTemplates } from './plan.js';
import type { RuntimeConfigRecord } from './record.js';
import { dropInName, userDropInName, type RuntimeConfigRequest } from './request.js';

/**
 * The host paths whose bytes the planner needs before it can decide (including every file the previous
 * install recorded), besides what imports name: readRuntimeConfigInputs also expands import globs and
 * drop-in directories, which needs the filesystem.
 */
export function runtimeConfigReads(request: RuntimeConfigRequest, previous?: RuntimeConfigRecord): string[] {
  const recorded = (previous?.files ?? []).map((file) => file.path);
  return [...new Set([...fixedReads(request), ...recorded])];
}

function fixedReads(request: RuntimeConfigRequest): string[] {
  const { configPath } = request;
  if (request.flavour === 'crio') return [configPath, crioDropInPath(configPath, request.suffix)];
  const strategy = FLAVOUR_LAYOUTS[request.flavour].strategy;
  if (strategy === 'k3s-drop-in') return [configPath, ...k3sTemplates(configPath)];
  const names = [
    dropInName(request.suffix),
    ...(request.userDropIn === undefined ? [] : [userDropInName(request.suffix)]),
  ];
  if (strategy === 'k0s-drop-in') return [configPath, ...names.map((name) => `${K0S_DROP_IN_DIR}/${name}`)];
  return [configPath, ...names.map((name) => `${DEFAULT_CONF_D}/${name}`)];
}

/** Directories whose every file the planner must see (drop-in dirs read by the runtime itself). */
export function runtimeConfigDirs(request: RuntimeConfigRequest): string[] {
  if (request.flavour === 'crio') return [crioDropInDir(request.configPath)];
  if (FLAVOUR_LAYOUTS[request.flavour].strategy === 'k0s-drop-in') return [K0S_DROP_IN_DIR];
  // containerd 2.2+ reads conf.d without being told; with the version unknown we must look there too.
  const { daemonVersion } = request;
  if (request.flavour === 'containerd' && (daemonVersion === undefined || importsConfDByDefault(daemonVersion)))
    return [DEFAULT_CONF_D];
  return [];
}

/**
 * Reads everything planRuntimeConfig needs: the fixed paths, every file the main config imports (globs
 * expanded the way containerd expands them) and the drop-in directories. Refuses a main config that is a
 * symlink or not writable, since an atomic rename would replace the link (or fail) behind the operator's back.
 */
export async function readRuntimeConfigInputs(
  fs: HostFs,
  request: RuntimeConfigRequest,
  previous?: RuntimeConfigRecord,
): Promise<Map<string, Buffer | undefined>> {
  const files = new Map<string, Buffer | undefined>();
  const read = async (file: string): Promise<void> => {
    if (files.has(file)) return;
    await refuseOversized(fs, file);
    files.set(file, await fs.readIfExists(file));
  };
  await refuseUnsafeTarget(fs, request.configPath);
  for (const file of runtimeConfigReads(request, previous)) await read(file);
  for (const dir of runtimeConfigDirs(request)) for (const file of await listFiles(fs, dir)) await read(file);
  const main = files.get(request.configPath);
  if (main !== undefined && request.flavour !== 'crio') {
    const entries = safeImports(main.toString('utf8')).map((entry) => resolveImport(request.configPath, entry));
    for (const entry of entries) {
      if (!isGlob(entry)) {
        await read(entry);
        continue;
      }
      const dir = globDirectory(entry);
      if (dir === undefined) continue;
      for (const file of await listFiles(fs, dir)) if (globMatches(entry, file)) await read(file);
      // Our drop-in may go here: the planner must know whether the operator's drop-in's name is taken too.
      if (request.userDropIn !== undefined) await read(`${dir}/${userDropInName(request.suffix)}`);
    }
  }
  return files;
}

/**
 * The largest runtime config file we read. Real ones are a few KiB (the biggest in the shared corpus is
 * far below this); parsing and comparing dumps costs ~20 times the file size in memory, so a 20 MB file
 * would take the pod over its memory limit instead of getting a clear refusal.
 */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

async function refuseOversized(fs: HostFs, file: string): Promise<void> {
  const size = (await fs.stat(file))?.size ?? 0;
  if (size > MAX_CONFIG_BYTES) {
    throw new KataDeployError(
      'config-refused',
      `${file} is ${size} bytes, more than the ${MAX_CONFIG_BYTES}-byte limit`,
      {
        hint: 'a container runtime config this large is not one kata-deploy can edit safely; nothing was changed',
      },
    );
  }
}

function safeImports(text: string): string[] {
  try {
    return rootImports(text) ?? [];
  } catch {
    return [];
  }
}

async function listFiles(fs: HostFs, dir: string): Promise<string[]> {
  const stat = await fs.stat(dir);
  if (stat === undefined || !stat.isDirectory()) return [];
  const names = await fs.readdir(dir);
  const files: string[] = [];
  for (const name of names.sort()) {
    const file = `${dir}/${name}`;
    if ((await fs.stat(file))?.isFile() === true) files.push(file);
  }
  return files;
}

async function refuseUnsafeTarget(fs: HostFs, file: string): Promise<void> {
  const link = await fs.lstat(file);
  if (link === undefined) return;
  if (link.isSymbolicLink()) {
    throw new KataDeployError('config-refused', `${file} is a symbolic link (to ${await fs.readlink(file)})`, {
      hint: 'point --containerd-config at the real file, or replace the link with the file; nothing was changed',
    });
  }
  if (!link.isFile())
    throw new KataDeployError('config-refused', `${file} is not a regular file`, {
      hint: 'point --containerd-config at the config file; nothing was changed',
    });
  if ((link.mode & 0o222) === 0) {
    throw new KataDeployError('config-refused', `${file} is read-only (mode ${(link.mode & 0o777).toString(8)})`, {
      hint:
        'a read-only config is usually managed by another tool (Ansible, cloud-init); add the handlers there, or ' +
        'make it writable; nothing was changed',
    });
  }
}
