import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseSemVer, type SemVer } from '../../src/core/containerd-version.js';
import { handlersFor, type HandlerSpec } from '../../src/core/handlers.js';
import type { FileChange } from '../../src/core/file-change.js';
import type { RuntimeFlavour } from '../../src/settings/settings.js';
import type { RuntimeConfigRequest } from '../../src/containerd/config/request.js';
import { corpusDir } from '../helpers/corpus.js';

/** The shared corpus of real configs (shared/corpus/SOURCES.md describes each file). */
export const CORPUS = corpusDir();
const TEMPLATE = /\.(j2|tmpl|gtpl|hbs)$/;

/** Every usable config file under a corpus folder (raw templates excepted), as relative paths. */
export function corpusFiles(folder: 'containerd' | 'crio'): string[] {
  const root = path.join(CORPUS, folder);
  const walk = (dir: string): string[] =>
    readdirSync(dir)
      .sort()
      .flatMap((name) => {
        const full = path.join(dir, name);
        return statSync(full).isDirectory() ? walk(full) : [full];
      });
  return walk(root)
    .filter((file) => !TEMPLATE.test(file))
    .map((file) => path.relative(root, file));
}

export function corpusBytes(folder: 'containerd' | 'crio', relative: string): Buffer {
  return readFileSync(path.join(CORPUS, folder, relative));
}

/** Four handlers (two shims, debug twins), one with a snapshotter, as the settings would produce them. */
export function testHandlers(suffix?: string, shims: readonly string[] = ['qemu', 'clh'], debug = true): HandlerSpec[] {
  return handlersFor({
    shims,
    multiInstallSuffix: suffix,
    debug,
    installDir: suffix === undefined ? '/opt/kata' : `/opt/kata-${suffix}`,
    snapshotterHandlerMapping: new Map([['clh', 'nydus']]),
  });
}

export function semver(text: string): SemVer {
  const parsed = parseSemVer(text);
  if (parsed === undefined) throw new Error(`bad version ${text}`);
  return parsed;
}

export function request(
  overrides: Partial<RuntimeConfigRequest> & { flavour?: RuntimeFlavour } = {},
): RuntimeConfigRequest {
  return {
    flavour: 'containerd',
    configPath: '/etc/containerd/config.toml',
    daemonVersion: semver('1.7.24'),
    handlers: testHandlers(),
    suffix: undefined,
    ...overrides,
  };
}

/** The files after a plan is applied (the step runner's job, done in memory). */
export function applied(
  current: ReadonlyMap<string, Buffer | undefined>,
  changes: readonly FileChange[],
): Map<string, Buffer | undefined> {
  const result = new Map(current);
  for (const change of changes) result.set(change.path, change.after);
  return result;
}

/** Two file maps hold the same bytes for every path (absent = undefined). */
export function sameFiles(
  a: ReadonlyMap<string, Buffer | undefined>,
  b: ReadonlyMap<string, Buffer | undefined>,
): string[] {
  const differing: string[] = [];
  for (const key of new Set([...a.keys(), ...b.keys()])) {
    const x = a.get(key);
    const y = b.get(key);
    if (x === undefined ? y !== undefined : y === undefined || !x.equals(y)) differing.push(key);
  }
  return differing;
}
