import path from 'node:path';
import type { FileChange } from '../../core/file-change.js';
import type { HandlerSpec } from '../../core/handlers.js';
import type { PerShimValue, Settings } from '../../settings/settings.js';
import { parsePristine, type PristineConfig } from './pristine.js';
import { renderDropIn, type DropInTable, type DropInValue } from './toml-text.js';
import { renderDevkitDropIn, type DevkitFacts } from './devkit-drop-in.js';

/** The settings the Kata configuration planner reads. */
export type KataConfigSettings = Pick<
  Settings,
  'installDir' | 'agentHttpsProxy' | 'agentNoProxy' | 'allowedHypervisorAnnotations'
> & { readonly upstream: Pick<Settings['upstream'], 'forceGuestPull' | 'nvrcEnableDcgm'> };

/** Every drop-in name we own; a wanted-no-more one is deleted, anything else in config.d is left alone. */
export const DROP_IN_NAMES = [
  '10-installation-prefix.toml',
  '20-debug.toml',
  '25-devkit.toml',
  '30-agent-proxy.toml',
  '35-nvrc-dcgm.toml',
  '40-annotations.toml',
  '50-force-guest-pull.toml',
  '50-overrides.toml',
] as const;
type DropInName = (typeof DROP_IN_NAMES)[number];

/** The drop-in that carries the agent proxy URLs, credentials included: readable by root only. */
const SECRET_DROP_IN: DropInName = '30-agent-proxy.toml';

const PAYLOAD_PREFIX = '/opt/kata/';
const DEBUG_KERNEL_PARAMS = ['agent.log=debug', 'initcall_debug'];

function perShim(value: PerShimValue, shim: string): string | undefined {
  return value.perShim.get(shim) ?? value.global;
}

/** Rewrites `/opt/kata/…` to the install dir in a string or string array; undefined when nothing changes. */
function rebased(value: unknown, installDir: string): DropInValue | undefined {
  const move = (text: string): string =>
    text.startsWith(PAYLOAD_PREFIX) ? `${installDir}/${text.slice(PAYLOAD_PREFIX.length)}` : text;
  if (typeof value === 'string') return value.startsWith(PAYLOAD_PREFIX) ? move(value) : undefined;
  if (
    Array.isArray(value) &&
    value.every((item) => typeof item === 'string') &&
    value.some((item: string) => item.startsWith(PAYLOAD_PREFIX))
  ) {
    return value.map((item: string) => move(item));
  }
  return undefined;
}

/** Every table of the pristine config with its `/opt/kata` paths moved under the install dir. */
function prefixTables(pristine: PristineConfig, installDir: string): DropInTable[] {
  const tables: DropInTable[] = [];
  const visit = (table: Record<string, unknown>, at: string[]): void => {
    const values: [string, DropInValue][] = [];
    for (const [key, value] of Object.entries(table)) {
      if (value !== null && typeof value === 'object' && !Array.isArray(value))
        visit(value as Record<string, unknown>, [...at, key]);
      else {
        const moved = rebased(value, installDir);
        if (moved !== undefined) values.push([key, moved]);
      }
    }
    if (values.length > 0) tables.push({ table: at, values });
  };
  visit(pristine.document as Record<string, unknown>, []);
  return tables;
}

function words(text: string | undefined): string[] {
  return (text ?? '').split(/\s+/).filter(Boolean);
}

/**
 * The drop-ins one handler needs, in name order. Both runtimes merge config.d key by key and a later
 * file replaces a key wholesale, so `kernel_params` is written cumulatively (pristine value plus every
 * addition up to that file) and `enable_annotations` as the union with the pristine list.
 */
function dropInsFor(
  handler: HandlerSpec,
  pristine: PristineConfig,
  settings: KataConfigSettings,
  devkit: DevkitFacts | undefined,
): Map<DropInName, string> {
  const shim = handler.shim.name;
  const hv = ['hypervisor', pristine.hypervisorName];
  const header = (why: string): string[] => [
    `Written by kata-deploy for runtime handler ${handler.name}: ${why}.`,
    'Rewritten on every install and removed on uninstall; put your own settings in another file here.',
  ];
  const out = new Map<DropInName, string>();
  let kernelParams = words(
    typeof pristine.hypervisor.kernel_params === 'string' ? pristine.hypervisor.kernel_params : '',
  );

  if (settings.installDir !== '/opt/kata') {
    const tables = prefixTables(pristine, settings.installDir);
    if (tables.length > 0)
      out.set(
        '10-installation-prefix.toml',
        renderDropIn(header(`payload installed under ${settings.installDir} instead of /opt/kata`), tables),
      );
  }
  if (handler.debug) {
    kernelParams = [...kernelParams, ...DEBUG_KERNEL_PARAMS.filter((param) => !kernelParams.includes(param))];
    out.set(
      '20-debug.toml',
      renderDropIn(header('guest and runtime debug (DEBUG=true, -debug handler only)'), [
        {
          table: hv,
          values: [
            ['enable_debug', true],
            ['kernel_params', kernelParams.join(' ')],
          ],
        },
        {
          table: ['agent', pristine.agentName],
          values: [
            ['enable_debug', true],
            ['debug_console_enabled', true],
          ],
        },
        { table: ['runtime'], values: [['enable_debug', true]] },
      ]),
    );
  }
  if (handler.devkit === true) {
    if (devkit === undefined) throw new Error(`no devkit facts for handler ${handler.name}`);
    out.set('25-devkit.toml', renderDevkitDropIn(handler.name, pristine, devkit));
  }
  const httpsProxy = perShim(settings.agentHttpsProxy, shim);
  const noProxy = perShim(settings.agentNoProxy, shim);
  if (httpsProxy !== undefined || noProxy !== undefined) {
    if (httpsProxy !== undefined)
      kernelParams = [
        ...kernelParams.filter((param) => !param.startsWith('agent.https_proxy=')),
        `agent.https_proxy=${httpsProxy}`,
      ];
    if (noProxy !== undefined)
      kernelParams = [
        ...kernelParams.filter((param) => !param.startsWith('agent.no_proxy=')),
        `agent.no_proxy=${noProxy}`,
      ];
    out.set(
      '30-agent-proxy.toml',
      renderDropIn(header('guest agent proxy (AGENT_HTTPS_PROXY / AGENT_NO_PROXY)'), [
        { table: hv, values: [['kernel_params', kernelParams.join(' ')]] },
      ]),
    );
  }
  if (settings.upstream.nvrcEnableDcgm.includes(shim)) {
    kernelParams = [...kernelParams.filter((param) => !param.startsWith('nvrc.dcgm=')), 'nvrc.dcgm=on'];
    out.set(
      '35-nvrc-dcgm.toml',
      renderDropIn(header('NVIDIA DCGM in the guest (NVRC_ENABLE_DCGM)'), [
        { table: hv, values: [['kernel_params', kernelParams.join(' ')]] },
      ]),
    );
  }
  if (settings.upstream.forceGuestPull.includes(shim))
    out.set(
      '50-force-guest-pull.toml',
      renderDropIn(header('images pulled in the guest (EXPERIMENTAL_FORCE_GUEST_PULL)'), [
        { table: ['runtime'], values: [['experimental_force_guest_pull', true]] },
      ]),
    );
  if (handler.overrides !== undefined) out.set('50-overrides.toml', handler.overrides);
  const extra = [
    ...settings.allowedHypervisorAnnotations.globalList,
    ...words(settings.allowedHypervisorAnnotations.perShim.get(shim)),
  ];
  if (extra.length > 0) {
    const pristineList = Array.isArray(pristine.hypervisor.enable_annotations)
      ? (pristine.hypervisor.enable_annotations as string[])
      : [];
    const merged = [
      ...pristineList,
      ...extra.filter((item, i) => !pristineList.includes(item) && extra.indexOf(item) === i),
    ];
    out.set(
      '40-annotations.toml',
      renderDropIn(header('hypervisor annotations allowed (ALLOWED_HYPERVISOR_ANNOTATIONS)'), [
        { table: hv, values: [['enable_annotations', merged]] },
      ]),
    );
  }
  return out;
}

/**
 * Plans each handler's Kata configuration: a byte-for-byte copy of its shim's pristine file (comments
 * and all; the payload's own file is never edited) in the handler's own directory, plus the drop-ins in
 * `config.d/` next to it that DEBUG, DEVKIT (`devkit`: the payload's extension image, for `-devkit` handlers),
 * AGENT_HTTPS_PROXY/AGENT_NO_PROXY, ALLOWED_HYPERVISOR_ANNOTATIONS and INSTALLATION_PREFIX ask for. Both the
 * Go runtime (katautils decodeDropIns) and runtime-rs (kata-types drop_in) read every file of `config.d/`
 * beside the config they were given, in name order.
 * Pure: `readPristine` gives a shim's pristine bytes, `readCurrent` a host file's current bytes (the
 * caller reads them first). A drop-in of ours that is no longer wanted is planned for deletion; foreign
 * files in config.d are never touched. Returns only real changes.
 */
export function planKataConfigFiles(
  handlers: readonly HandlerSpec[],
  settings: KataConfigSettings,
  readPristine: (shim: string) => Buffer,
  readCurrent: (hostPath: string) => Buffer | undefined,
  devkit?: DevkitFacts,
): FileChange[] {
  const changes: FileChange[] = [];
  const want = (hostPath: string, after: Buffer | undefined, reason: string): void => {
    const before = readCurrent(hostPath);
    if (before === undefined && after === undefined) return;
    if (before !== undefined && after !== undefined && before.equals(after)) return;
    const secret = path.posix.basename(hostPath) === SECRET_DROP_IN;
    changes.push({ path: hostPath, before, after, mode: secret ? 0o600 : 0o644, reason });
  };
  for (const handler of handlers) {
    const bytes = readPristine(handler.shim.name);
    const pristine = parsePristine(handler.shim.name, bytes);
    const dir = path.posix.dirname(handler.configPath);
    want(
      handler.configPath,
      bytes,
      `Kata configuration of handler ${handler.name} (copy of the ${handler.shim.name} pristine file)`,
    );
    const dropIns = dropInsFor(handler, pristine, settings, devkit);
    for (const name of DROP_IN_NAMES) {
      const text = dropIns.get(name);
      want(
        path.posix.join(dir, 'config.d', name),
        text === undefined ? undefined : Buffer.from(text),
        text === undefined
          ? `drop-in ${name} of ${handler.name} no longer wanted`
          : `drop-in ${name} of ${handler.name}`,
      );
    }
  }
  return changes;
}
