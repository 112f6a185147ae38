import path from 'node:path';
import { sha256 } from '../../core/digest.js';
import { KataDeployError } from '../../core/errors.js';
import { runtimesPath, type ConfigVersion } from './handler-tables.js';
import type { FilePlan } from './in-place-plan.js';
import type { RuntimeConfigRecord } from './record.js';
import { userDropInName, type RuntimeConfigRequest } from './request.js';
import { getPath, isTable, parseTomlDocument, type TomlTable } from './toml-document.js';

const VARIABLE = 'CONTAINERD_USER_DROP_IN_SOURCE_FILE';

/** What makes a handler ours (live-handler drift checks these): the operator's drop-in may not override them. */
const HANDLER_IDENTITY: readonly (readonly string[])[] = [
  ['runtime_type'],
  ['runtime_path'],
  ['options', 'ConfigPath'],
];

/** The operator's drop-in as planned: the file, and the `imports` entry it needs (undefined when a glob reads it). */
export interface UserDropInPlan {
  readonly plan: FilePlan;
  readonly importEntry: string | undefined;
}

/** Where the operator's drop-in goes: next to ours, so whatever makes containerd read ours can read it too. */
export function userDropInPath(ourDropIn: string, suffix: string | undefined): string {
  return `${path.posix.dirname(ourDropIn)}/${userDropInName(suffix)}`;
}

/**
 * The refusal for a node where the operator's drop-in cannot be used safely. On containerd 1.x an imported
 * file replaces each plugin section it names as a whole (the CRI section with sandbox_image, runc and ours
 * gone), so upstream allows it only where containerd merges drop-ins deeply (2.0+, k3s/rke2/k0s); CRI-O
 * reads no containerd file at all.
 */
export function refuseUserDropIn(request: RuntimeConfigRequest, why: string): void {
  if (request.userDropIn === undefined) return;
  throw new KataDeployError(
    'config-refused',
    `${VARIABLE}=${request.userDropIn.source}: ${why}, so ${userDropInName(request.suffix)} cannot be installed`,
    {
      hint: `unset ${VARIABLE} (or merge its settings into ${request.configPath} yourself); nothing was changed`,
    },
  );
}

/**
 * Plans the operator's drop-in, copied byte for byte (never re-serialised) to `zz-kata-deploy-user[-<sfx>].toml`
 * beside our drop-in. Refused (exit 5, naming the source file) when it is not TOML, when its `version` is not
 * the one containerd reads this node's drop-ins as (a higher one stops containerd 2.1 migrating the main
 * file; a lower one is read by other rules), when it redefines what makes one of our handlers ours, or when
 * a file by that name exists that this install did not write. PURE.
 */
export function planUserDropIn(
  request: RuntimeConfigRequest,
  current: ReadonlyMap<string, Buffer | undefined>,
  previous: RuntimeConfigRecord | undefined,
  target: {
    readonly dropInPath: string;
    readonly version: ConfigVersion;
    /** The CRI plugin IDs this node's config uses (v3 IDs in a v2 file on AKS-style nodes). */
    readonly idVersion: ConfigVersion;
    readonly explicitImport: boolean;
  },
): UserDropInPlan | undefined {
  const source = request.userDropIn;
  if (source === undefined) return undefined;
  const file = userDropInPath(target.dropInPath, request.suffix);
  if (!current.has(file)) throw new Error(`${file} was not read before planning`);
  const doc = parseTomlDocument(source.source, source.bytes);
  const declared =
    typeof doc.value.version === 'number' || typeof doc.value.version === 'bigint' ? doc.value.version : 1;
  if (Number(declared) !== target.version)
    throw refusal(
      source.source,
      `declares version = ${declared}, but containerd reads this node's drop-ins as version ${target.version} ` +
        "(the main config's)",
      `write it as version = ${target.version}, with that version's plugin IDs`,
    );
  const wrongIds = foreignPluginIds(doc.value, target.idVersion);
  if (wrongIds !== undefined) throw refusal(source.source, wrongIds.problem, wrongIds.fix);
  const overridden = overriddenHandler(
    doc.value,
    request.handlers.map((handler) => handler.name),
  );
  if (overridden !== undefined)
    throw refusal(
      source.source,
      `sets ${overridden}, which decides what kata-deploy's handler runs`,
      'leave runtime_type, runtime_path and options.ConfigPath of the kata handlers to kata-deploy ' +
        '(other keys may be set)',
    );
  const before = current.get(file);
  const ownedBefore = previous?.files.some((recorded) => recorded.path === file && recorded.ownedWhole) ?? false;
  if (before !== undefined && !ownedBefore && !before.equals(source.bytes))
    throw refusal(
      source.source,
      `${file} already exists and was not written by this install`,
      'remove it if another installer left it, or install with MULTI_INSTALL_SUFFIX',
    );
  const after = Buffer.from(source.bytes);
  return {
    plan: {
      change: { path: file, before, after, reason: `the operator's containerd drop-in (${VARIABLE})` },
      recorded: {
        path: file,
        original: null,
        writtenSha256: sha256(after),
        ownedWhole: true,
        tables: [],
        inserted: null,
        importEntry: null,
      },
    },
    importEntry: target.explicitImport ? file : undefined,
  };
}

/**
 * containerd 2.x migrates a v2 file's `io.containerd.grpc.v1.cri` into the v3 plugins only when no file uses
 * the v3 IDs: on a node that does, a v2-ID section is silently ignored; on a node that does not, a v3-ID
 * section would stop the migration and drop the operator's v2 CRI settings (and our handlers).
 */
function foreignPluginIds(value: TomlTable, idVersion: ConfigVersion): { problem: string; fix: string } | undefined {
  const usesV2 = getPath(value, ['plugins', 'io.containerd.grpc.v1.cri']) !== undefined;
  const usesV3 = ['io.containerd.cri.v1.runtime', 'io.containerd.cri.v1.images'].some(
    (id) => getPath(value, ['plugins', id]) !== undefined,
  );
  if (idVersion >= 3 && usesV2)
    return {
      problem:
        'configures plugins."io.containerd.grpc.v1.cri", which containerd ignores on this node: its config ' +
        'uses the v3 CRI plugin IDs',
      fix: 'write those settings under plugins."io.containerd.cri.v1.runtime" / "io.containerd.cri.v1.images"',
    };
  if (idVersion === 2 && usesV3)
    return {
      problem:
        'uses the v3 CRI plugin IDs, which would stop containerd migrating the v2 CRI section of this node ' +
        '(its sandbox image, runc and the Kata handlers would fall back to defaults)',
      fix: 'write those settings under plugins."io.containerd.grpc.v1.cri", as the main config does',
    };
  return undefined;
}

function overriddenHandler(value: TomlTable, handlers: readonly string[]): string | undefined {
  for (const version of [1, 2, 3] as const) {
    const map = getPath(value, runtimesPath(version));
    if (!isTable(map)) continue;
    for (const name of handlers) {
      const key = HANDLER_IDENTITY.find((keyPath) => getPath(map[name], keyPath) !== undefined);
      if (key !== undefined) return `${name}.${key.join('.')}`;
    }
  }
  return undefined;
}

function refusal(source: string, problem: string, fix: string): KataDeployError {
  return new KataDeployError('config-refused', `${VARIABLE}: ${source} ${problem}`, {
    hint: `${fix}; nothing was changed`,
  });
}
