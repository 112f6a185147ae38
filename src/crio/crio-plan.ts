import path from 'node:path';
import { KataDeployError } from '../core/errors.js';
import type { HandlerSpec } from '../core/handlers.js';
import type { FilePlan } from '../containerd/config/in-place-plan.js';
import { sha256 } from '../core/digest.js';
import type { RuntimeConfigRecord } from '../containerd/config/record.js';
import type { RuntimeConfigRequest } from '../containerd/config/request.js';
import { renderTables, type OwnedTable } from '../containerd/config/handler-tables.js';
import { getPath, isTable, parseTomlDocument, parseTomlText } from '../containerd/config/toml-document.js';

/** The drop-in directory CRI-O reads after its main config, in lexical order. */
export function crioDropInDir(configPath: string): string {
  return `${path.posix.dirname(configPath)}/crio.conf.d`;
}

/** Our CRI-O drop-in: `99-` sorts last, so nothing an operator ships in the directory overrides it. */
export function crioDropInPath(configPath: string, suffix: string | undefined): string {
  return `${crioDropInDir(configPath)}/99-kata-deploy${suffix === undefined ? '' : `-${suffix}`}`;
}

/** The CRI-O runtime table of one handler: VM-type runtime whose shim reads that handler's Kata config. */
export function crioHandlerTable(handler: HandlerSpec): OwnedTable {
  return {
    path: ['crio', 'runtime', 'runtimes', handler.name],
    entries: [
      ['runtime_path', handler.runtimePath],
      ['runtime_type', 'vm'],
      ['runtime_root', '/run/vc'],
      ['runtime_config_path', handler.configPath],
      ['privileged_without_host_devices', true],
      ...(handler.guestPull === true ? [['runtime_pull_image', true] as const] : []),
    ],
  };
}

const HEADER = '# Written by kata-deploy. Do not edit: `kata-deploy uninstall` deletes this file.\n\n';

/**
 * CRI-O: one drop-in we own whole. CRI-O merges drop-ins key by key, so no operator file is edited; we
 * only refuse when another file already defines a runtime with one of our handler names. DEBUG also sets
 * `log_level = "debug"` (as upstream), unless an operator's file sets a log level: ours sorts last and
 * would override it.
 */
export function planCrioConfig(
  request: RuntimeConfigRequest,
  current: ReadonlyMap<string, Buffer | undefined>,
  previous: RuntimeConfigRecord | undefined,
): FilePlan[] {
  const dropIn = crioDropInPath(request.configPath, request.suffix);
  const dir = `${crioDropInDir(request.configPath)}/`;
  const others = [...current.entries()].filter(
    ([file, bytes]) => bytes !== undefined && file !== dropIn && (file === request.configPath || file.startsWith(dir)),
  );
  let operatorLogLevel = false;
  for (const [file, bytes] of others) {
    const doc = parseTomlDocument(file, bytes as Buffer);
    operatorLogLevel ||= getPath(doc.value, ['crio', 'runtime', 'log_level']) !== undefined;
    const runtimes = getPath(doc.value, ['crio', 'runtime', 'runtimes']);
    const clash = request.handlers.find((handler) => isTable(runtimes) && Object.hasOwn(runtimes, handler.name));
    if (clash !== undefined) {
      throw new KataDeployError(
        'config-refused',
        `${file}: CRI-O runtime "${clash.name}" ([crio.runtime.runtimes.${clash.name}]) is already defined by ` +
          `someone else`,
        {
          hint: 'remove or rename that runtime, or install with MULTI_INSTALL_SUFFIX; nothing was changed',
        },
      );
    }
  }
  const logLevel: OwnedTable[] =
    request.debugLevel === true && !operatorLogLevel
      ? [{ path: ['crio', 'runtime'], entries: [['log_level', 'debug']] }]
      : [];
  const text = HEADER + renderTables([...logLevel, ...request.handlers.map(crioHandlerTable)], '\n');
  parseTomlText(dropIn, text);
  const before = current.get(dropIn);
  const ours = previous?.files.some((file) => file.path === dropIn && file.ownedWhole) ?? false;
  const after = Buffer.from(text);
  if (before !== undefined && !ours && !before.equals(after)) {
    throw new KataDeployError('config-refused', `${dropIn} already exists and was not written by this install`, {
      hint:
        'remove it if it is left over from another installer, or install with MULTI_INSTALL_SUFFIX; nothing was ' +
        'changed',
    });
  }
  return [
    {
      change: {
        path: dropIn,
        before,
        after,
        reason: `CRI-O runtime handlers ${request.handlers.map((h) => h.name).join(', ')}`,
      },
      recorded: {
        path: dropIn,
        original: null,
        writtenSha256: sha256(after),
        ownedWhole: true,
        tables: [],
        inserted: null,
        importEntry: null,
      },
    },
  ];
}
