import path from 'node:path';
import { KataDeployError } from '../../core/errors.js';
import { isNoop, type FileChange } from '../../core/file-change.js';
import { FLAVOUR_LAYOUTS } from '../../core/flavours.js';
import { planCrioConfig } from '../../crio/crio-plan.js';
import { configVersionOf } from './config-version.js';
import { DEFAULT_CONF_D, effectiveImports } from './default-imports.js';
import { configDocs, planDropIn, type DropInTarget } from './drop-in-plan.js';
import { mayRaiseDebugLevel } from './debug-level.js';
import { dropInFromGlobs, resolveImport } from './imports.js';
import { rootImports } from './in-place-edit.js';
import { planInPlace, stripPrevious, type FilePlan } from './in-place-plan.js';
import type { RuntimeConfigRecord } from './record.js';
import { removeRecordedFile } from './removal.js';
import { runtimesPath, type ConfigVersion } from './handler-tables.js';
import { dropInName, userDropInName, type RuntimeConfigRequest } from './request.js';
import { refuseUserDropIn } from './user-drop-in.js';
import { getPath, parseTomlDocument, type TomlDocument } from './toml-document.js';

/** The file changes one install wants, and the ledger entry uninstall will need. */
export interface RuntimeConfigPlan {
  readonly changes: FileChange[];
  readonly record: RuntimeConfigRecord;
}

/** Where k0s imports drop-ins from (its generated main config imports this glob). */
export const K0S_DROP_IN_DIR = '/etc/k0s/containerd.d';

/**
 * Plans the runtime-config part of an install. PURE: `current` holds the bytes of every file named by
 * readRuntimeConfigInputs (undefined = absent), `previous` is the last install's record. Throws
 * KataDeployError('config-refused') naming the file and field, before anything is written, whenever the
 * change could not be made safely.
 */
export function planRuntimeConfig(
  request: RuntimeConfigRequest,
  current: ReadonlyMap<string, Buffer | undefined>,
  previous: RuntimeConfigRecord | undefined,
): RuntimeConfigPlan {
  const effective = request.flavour === 'crio' ? request : withDebugLevel(request, current, previous);
  if (request.flavour === 'crio') refuseUserDropIn(request, 'CRI-O reads no containerd config');
  const plans =
    request.flavour === 'crio'
      ? planCrioConfig(request, current, previous)
      : planContainerd(effective, current, previous);
  const planned = new Set(plans.map((plan) => plan.change.path));
  const leftovers = (previous?.files ?? [])
    .filter((file) => !planned.has(file.path))
    .map((file) => removeRecordedFile(file, current.get(file.path)));
  const changes = [...plans.map((plan) => plan.change), ...leftovers.filter((change) => change !== undefined)].filter(
    (change) => !isNoop(change),
  );
  const files = plans
    .map((plan) => plan.recorded)
    .filter((file) => file.ownedWhole || file.tables.length > 0 || file.importEntry !== null || !!file.userImportEntry);
  const addedRunc = files.some((file) => file.tables.some((table) => table.at(-1) === 'runc'));
  return {
    changes,
    record: {
      schema: 1,
      flavour: request.flavour,
      handlers: request.handlers.map((handler) => handler.name),
      addedRunc,
      files,
      ...(effective.debugLevel === true ? { debugLevel: true } : {}),
    },
  };
}

/** The request with `debugLevel` kept only where raising containerd's level touches nothing of the operator's. */
function withDebugLevel(
  request: RuntimeConfigRequest,
  current: ReadonlyMap<string, Buffer | undefined>,
  previous: RuntimeConfigRecord | undefined,
): RuntimeConfigRequest {
  const { configPath } = request;
  const bytes = current.get(configPath);
  const previousMain = previous?.files.find((file) => file.path === configPath);
  const mainText =
    bytes === undefined
      ? undefined
      : stripPrevious(configPath, parseTomlDocument(configPath, bytes).text, previousMain);
  const files = previous?.files ?? [];
  return {
    ...request,
    debugLevel: mayRaiseDebugLevel(request.debugLevel === true, configPath, mainText, current, files),
  };
}

function planContainerd(
  request: RuntimeConfigRequest,
  current: ReadonlyMap<string, Buffer | undefined>,
  previous: RuntimeConfigRecord | undefined,
): FilePlan[] {
  const { configPath, daemonVersion } = request;
  const bytes = current.get(configPath);
  const previousFile = previous?.files.find((file) => file.path === configPath);
  const strategy = FLAVOUR_LAYOUTS[request.flavour].strategy;
  if (strategy === 'microk8s-template') {
    refuseUserDropIn(request, 'microk8s renders its containerd config from a template kata-deploy edits in place');
    return [planInPlace(request, configPath, bytes, previousFile, 2)];
  }
  const parsedMain = bytes === undefined ? undefined : parseTomlDocument(configPath, bytes);
  const main =
    parsedMain === undefined
      ? undefined
      : parseTomlDocument(configPath, stripPrevious(configPath, parsedMain.text, previousFile));
  const version = main === undefined ? undefined : configVersionOf(main, daemonVersion);
  const name = dropInName(request.suffix);
  if (strategy === 'k0s-drop-in') {
    const others = [...current.keys()].filter(
      (file) => file.startsWith(`${K0S_DROP_IN_DIR}/`) && current.get(file) !== undefined,
    );
    const docs = [
      ...(main === undefined ? [] : [main]),
      ...others.map((file) => parseTomlDocument(file, current.get(file) as Buffer)),
    ];
    const k0sVersion =
      main === undefined && daemonVersion !== undefined && daemonVersion.major < 2 ? 2 : dropInVersion(version);
    const target: DropInTarget = {
      dropInPath: `${K0S_DROP_IN_DIR}/${name}`,
      version: k0sVersion,
      idVersion: idVersionFor(k0sVersion, docs),
      editableMain: undefined,
      importEntry: undefined,
      otherDocs: docs,
    };
    return planDropIn(request, current, previous, target);
  }
  if (strategy === 'k3s-drop-in') return planDropIn(request, current, previous, k3sTarget(request, main, current));
  const useDropIn = daemonVersion !== undefined ? daemonVersion.major >= 2 : (version ?? 2) >= 3;
  if (!useDropIn) {
    refuseUserDropIn(request, inPlaceReason(request));
    return [planInPlace(request, configPath, bytes, previousFile, 2)];
  }
  const imports = effectiveImports(configPath, main, daemonVersion);
  const viaGlob = dropInFromGlobs(imports, name);
  if (viaGlob !== undefined && dropInFromGlobs(imports, userDropInName(request.suffix)) === undefined)
    refuseUserDropIn(
      request,
      `the imports glob of ${configPath} that reads ${viaGlob} does not match ${userDropInName(request.suffix)}`,
    );
  if (
    viaGlob === undefined &&
    daemonVersion === undefined &&
    (main === undefined || rootImports(main.text) === undefined)
  )
    refuseUnknownDefaultImports(request, current);
  const dropInPath = viaGlob ?? `${DEFAULT_CONF_D}/${name}`;
  const otherDocs = configDocs(configPath, main, current, imports);
  return planDropIn(request, current, previous, {
    dropInPath,
    version: dropInVersion(version),
    idVersion: idVersionFor(dropInVersion(version), otherDocs),
    editableMain: configPath,
    importEntry: viaGlob === undefined ? dropInPath : undefined,
    otherDocs,
  });
}

/** Why a node whose main config we edit in place takes no user drop-in (containerd 1.x merge rules). */
function inPlaceReason(request: RuntimeConfigRequest): string {
  const version = request.daemonVersion;
  const release =
    version === undefined
      ? 'this containerd (version unknown, config v2)'
      : `containerd ${version.major}.${version.minor}`;
  return (
    `${release} merges an imported file by replacing each plugin section it names as a whole (its CRI section ` +
    `would wipe sandbox_image, runc and the Kata handlers of ${request.configPath}); drop-ins need containerd 2.0+`
  );
}

/**
 * Without the daemon's version we cannot tell whether containerd imports conf.d by default (2.2+); adding
 * an `imports` key would then switch that default off and unload the other drop-ins there.
 */
function refuseUnknownDefaultImports(
  request: RuntimeConfigRequest,
  current: ReadonlyMap<string, Buffer | undefined>,
): void {
  const others = [...current.entries()].filter(
    ([file, bytes]) =>
      bytes !== undefined &&
      file.startsWith(`${DEFAULT_CONF_D}/`) &&
      !file.endsWith(`/${dropInName(request.suffix)}`) &&
      !file.endsWith(`/${userDropInName(request.suffix)}`),
  );
  if (others.length === 0) return;
  throw new KataDeployError(
    'config-refused',
    `${request.configPath} has no imports, ${others[0]?.[0]} exists, and the containerd version is unknown: adding ` +
      `an imports entry would stop containerd 2.2+ loading ${DEFAULT_CONF_D}/*.toml`,
    {
      hint:
        'make the containerd version known to kata-deploy (its socket or binary), or add imports = ' +
        '["/etc/containerd/conf.d/*.toml"] to the config yourself',
    },
  );
}

/**
 * The version our drop-in is written in: the main file's own, never a higher one. containerd 2.1 merges a
 * higher-version drop-in and then skips migrating the main file, so a v2 main's settings silently fall
 * back to defaults; later releases ignore such a drop-in altogether (containerd#12891). A v1 main is the
 * exception: containerd 2.x ignores its v1 sections anyway, a v3 drop-in keeps it that way, while a v2
 * drop-in would suddenly bring them to life.
 */
export function dropInVersion(mainVersion: ConfigVersion | undefined): ConfigVersion {
  return mainVersion === undefined || mainVersion === 1 ? 3 : mainVersion;
}

/**
 * The plugin IDs our drop-in's tables use. containerd 2.x migrates a v2 config's `io.containerd.grpc.v1.cri`
 * into the split v3 plugins only when the v3 IDs are not already there; a v2 file that already writes
 * `io.containerd.cri.v1.runtime` (AKS does) has its v2 runtime map ignored, so ours must use the v3 IDs too.
 */
function idVersionFor(version: ConfigVersion, docs: readonly TomlDocument[]): ConfigVersion {
  if (version !== 2) return version;
  return docs.some((doc) => getPath(doc.value, runtimesPath(3).slice(0, 2)) !== undefined) ? 3 : 2;
}

/** The k3s/rke2 template files an operator may provide next to the rendered config. */
export function k3sTemplates(configPath: string): string[] {
  const dir = path.posix.dirname(configPath);
  return [`${dir}/config.toml.tmpl`, `${dir}/config-v3.toml.tmpl`];
}

/**
 * k3s/rke2 regenerate config.toml on every start, so it is never edited: our drop-in goes into the
 * `config[-v3].toml.d/` directory the rendered config imports. Without that import (older k3s, or a
 * custom template that dropped it) there is no safe place to write, so we refuse and say why.
 */
function k3sTarget(
  request: RuntimeConfigRequest,
  main: TomlDocument | undefined,
  current: ReadonlyMap<string, Buffer | undefined>,
): DropInTarget {
  const { configPath, daemonVersion } = request;
  if (main === undefined) {
    throw new KataDeployError(
      'config-refused',
      `${configPath} does not exist: ${request.flavour} has not rendered its containerd config yet`,
      {
        hint: `start ${request.flavour} once so it writes ${configPath}, then run kata-deploy again`,
      },
    );
  }
  if (daemonVersion !== undefined && daemonVersion.major < 2) {
    throw new KataDeployError(
      'config-refused',
      `${configPath}: ${request.flavour} runs containerd ${daemonVersion.major}.${daemonVersion.minor}, whose ` +
        `imports replace whole plugin sections, so a drop-in would wipe the CRI settings k3s renders`,
      {
        hint:
          `upgrade ${request.flavour} to a release with containerd 2, or add the Kata runtimes to a ` +
          `config.toml.tmpl by hand`,
      },
    );
  }
  const version = configVersionOf(main, daemonVersion);
  const dir = `${path.posix.dirname(configPath)}/${version >= 3 ? 'config-v3.toml.d' : 'config.toml.d'}`;
  const dropInPath = `${dir}/${dropInName(request.suffix)}`;
  const imports = (rootImports(main.text) ?? []).map((entry) => resolveImport(configPath, entry));
  if (dropInFromGlobs(imports, dropInName(request.suffix)) !== dropInPath) {
    const template = k3sTemplates(configPath).find((file) => current.get(file) !== undefined);
    const source = template === undefined ? `the config ${request.flavour} renders` : `your template ${template}`;
    throw new KataDeployError(
      'config-refused',
      `${configPath}: ${source} does not import the drop-in directory ${dir}/*.toml`,
      {
        hint:
          template === undefined
            ? `upgrade ${request.flavour} to a release whose containerd template imports ${dir}/*.toml`
            : `add imports = ["${dir}/*.toml"] to ${template} (or base it on {{ template "base" . }}) and restart ` +
              `${request.flavour}`,
      },
    );
  }
  const otherDocs = configDocs(configPath, main, current, imports);
  return {
    dropInPath,
    version: dropInVersion(version),
    idVersion: idVersionFor(dropInVersion(version), otherDocs),
    editableMain: undefined,
    importEntry: undefined,
    otherDocs,
  };
}
