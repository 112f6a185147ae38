import TOML from '@iarna/toml';
import { describe, expect, it } from 'vitest';
import type { FileChange } from '../../src/core/file-change.js';
import { handlersFor } from '../../src/core/handlers.js';
import { SHIM_CATALOGUE } from '../../src/core/shims.js';
import { planKataConfigFiles } from '../../src/payload/index.js';
import { parseSettings } from '../../src/settings/parse-settings.js';
// @ts-expect-error plain ESM script without types
import { renderSampleConfig } from '../../scripts/sample-kata-config.mjs';

type Table = Record<string, unknown>;

const pristine = (shim: string): Buffer =>
  Buffer.from(renderSampleConfig(SHIM_CATALOGUE.get(shim), 'x86_64') as string);

function settingsFrom(env: Record<string, string>) {
  return parseSettings({
    env: { SHIMS_X86_64: 'qemu clh qemu-snp-runtime-rs qemu-nvidia-gpu', ...env },
    flags: {},
    arch: 'x86_64',
  });
}

function plan(env: Record<string, string>, current: ReadonlyMap<string, Buffer> = new Map()): FileChange[] {
  const settings = settingsFrom(env);
  return planKataConfigFiles(handlersFor(settings), settings, pristine, (file) => current.get(file));
}

/** Merges config.d into the base the way runtime-rs's drop_in.rs does (tables deep, values replaced). */
function merge(base: Table, dropIn: Table): Table {
  for (const [key, value] of Object.entries(dropIn)) {
    const existing = base[key];
    if (
      value !== null &&
      typeof value === 'object' &&
      !Array.isArray(value) &&
      existing !== null &&
      typeof existing === 'object' &&
      !Array.isArray(existing)
    ) {
      merge(existing as Table, value as Table);
    } else base[key] = value;
  }
  return base;
}

/** Where upstream's layout keeps a handler's files: `runtimes/<shim>/`, or `custom-runtimes/<handler>/` (debug). */
function handlerDir(handler: string): string {
  if (handler.endsWith('-debug')) return `/custom-runtimes/${handler}/`;
  const shim = [...SHIM_CATALOGUE.keys()]
    .filter((name) => handler === `kata-${name}` || handler.startsWith(`kata-${name}-`))
    .sort((a, b) => b.length - a.length)[0];
  return `/runtimes/${shim}/`;
}

/** A planned path named by its handler, as `kata-qemu/config.d/…` (plain) or `kata-qemu-debug/…` (variant). */
function shortPath(file: string): string {
  return file.replace(/.*\/custom-runtimes\//, '').replace(/.*\/runtimes\/([^/]+)\//, 'kata-$1/');
}

/** What the Kata runtime of one handler would finally read: its config plus its drop-ins in name order. */
function effective(changes: FileChange[], handler: string): { config: Table; hypervisor: Table; files: string[] } {
  const dir = handlerDir(handler);
  const mine = changes.filter((change) => change.path.includes(dir) && change.after !== undefined);
  const base = mine.find((change) => !change.path.includes('/config.d/'))!;
  const dropIns = mine
    .filter((change) => change.path.includes('/config.d/'))
    .sort((a, b) => (a.path < b.path ? -1 : 1));
  const config = dropIns.reduce(
    (acc, change) => merge(acc, TOML.parse(change.after!.toString()) as Table),
    TOML.parse(base.after!.toString()) as Table,
  );
  const hypervisor = Object.values(config.hypervisor as Record<string, Table>)[0]!;
  return { config, hypervisor, files: mine.map((change) => shortPath(change.path)) };
}

describe('planKataConfigFiles', () => {
  it(
    'gives every handler a byte-for-byte copy of its shim pristine config, comments included, and nothing else by ' +
      'default',
    () => {
      const changes = plan({});
      expect(changes.map((change) => change.path)).toEqual([
        '/opt/kata/share/defaults/kata-containers/runtimes/qemu/configuration-qemu.toml',
        '/opt/kata/share/defaults/kata-containers/runtimes/clh/configuration-clh.toml',
        '/opt/kata/share/defaults/kata-containers/runtime-rs/runtimes/qemu-snp-runtime-rs/' +
          'configuration-qemu-snp-runtime-rs.toml',
        '/opt/kata/share/defaults/kata-containers/runtimes/qemu-nvidia-gpu/configuration-qemu-nvidia-gpu.toml',
      ]);
      expect(changes[0]!.after!.equals(pristine('qemu'))).toBe(true);
      expect(changes[0]!.after!.toString()).toContain('# XXX: WARNING: this file is auto-generated.');
      expect(changes.every((change) => change.before === undefined)).toBe(true);
    },
  );

  it('turns guest debug on in the -debug handlers only', () => {
    const changes = plan({ DEBUG: 'true' });
    const debug = effective(changes, 'kata-qemu-debug');
    expect(debug.files).toContain('kata-qemu-debug/config.d/20-debug.toml');
    expect(debug.hypervisor.enable_debug).toBe(true);
    expect((debug.config.agent as Record<string, Table>).kata).toMatchObject({
      enable_debug: true,
      debug_console_enabled: true,
      dial_timeout: 45,
    });
    expect((debug.config.runtime as Table).enable_debug).toBe(true);
    expect(debug.hypervisor.kernel_params).toBe(
      'cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1 agent.log=debug initcall_debug',
    );
    const plain = effective(changes, 'kata-qemu');
    expect(plain.files).toEqual(['kata-qemu/configuration-qemu.toml']);
    expect(plain.hypervisor.enable_debug).toBeUndefined();
  });

  it('adds a global agent proxy to every shim kernel command line, keeping the pristine and debug params', () => {
    const changes = plan({
      DEBUG: 'true',
      AGENT_HTTPS_PROXY: 'http://proxy.corp:3128',
      AGENT_NO_PROXY: '10.0.0.0/8,.svc',
    });
    expect(effective(changes, 'kata-qemu-debug').hypervisor.kernel_params).toBe(
      'cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1 agent.log=debug initcall_debug ' +
        'agent.https_proxy=http://proxy.corp:3128 agent.no_proxy=10.0.0.0/8,.svc',
    );
    expect(effective(changes, 'kata-qemu-nvidia-gpu').hypervisor.kernel_params).toBe(
      'pci=realloc nvidia.NVreg_EnableGpuFirmware=1 agent.https_proxy=http://proxy.corp:3128 ' +
        'agent.no_proxy=10.0.0.0/8,.svc',
    );
  });

  it('applies a per-shim agent proxy to the named shim only', () => {
    const changes = plan({ AGENT_HTTPS_PROXY: 'clh=http://a:1;qemu=http://b:2' });
    expect(effective(changes, 'kata-clh').hypervisor.kernel_params).toBe(
      'cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1 agent.https_proxy=http://a:1',
    );
    expect(effective(changes, 'kata-qemu').hypervisor.kernel_params).toBe(
      'cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1 agent.https_proxy=http://b:2',
    );
    expect(effective(changes, 'kata-qemu-nvidia-gpu').files).toEqual([
      'kata-qemu-nvidia-gpu/configuration-qemu-nvidia-gpu.toml',
    ]);
  });

  it('merges allowed hypervisor annotations into the pristine enable_annotations list, globally and per shim', () => {
    const changes = plan({ ALLOWED_HYPERVISOR_ANNOTATIONS_X86_64: 'default_vcpus kernel_params clh:default_memory' });
    expect(effective(changes, 'kata-qemu').hypervisor.enable_annotations).toEqual([
      'enable_iommu',
      'virtio_fs_extra_args',
      'kernel_params',
      'default_vcpus',
    ]);
    expect(effective(changes, 'kata-clh').hypervisor.enable_annotations).toEqual([
      'enable_iommu',
      'virtio_fs_extra_args',
      'kernel_params',
      'default_vcpus',
      'default_memory',
    ]);
    expect(
      changes.find((change) => change.path.endsWith('runtimes/clh/config.d/40-annotations.toml'))!.after!.toString(),
    ).toContain('[hypervisor.clh]\nenable_annotations = [');
  });

  it('rewrites every /opt/kata path to the installation prefix and suffix, keeping each shim own asset names', () => {
    const changes = plan({ INSTALLATION_PREFIX: '/usr/local', MULTI_INSTALL_SUFFIX: 'blue' });
    const snp = effective(changes, 'kata-qemu-snp-runtime-rs-blue');
    expect(snp.hypervisor).toMatchObject({
      path: '/usr/local/opt/kata-blue/bin/qemu-system-x86_64-snp-experimental',
      kernel: '/usr/local/opt/kata-blue/share/kata-containers/vmlinuz.container',
      initrd: '/usr/local/opt/kata-blue/share/kata-containers/kata-containers-initrd-confidential.img',
      firmware: '/usr/local/opt/kata-blue/share/ovmf/AMDSEV.fd',
      valid_hypervisor_paths: ['/usr/local/opt/kata-blue/bin/qemu-system-x86_64-snp-experimental'],
      virtio_fs_daemon: '/usr/local/opt/kata-blue/libexec/virtiofsd',
    });
    expect(effective(changes, 'kata-qemu-nvidia-gpu-blue').hypervisor.image).toBe(
      '/usr/local/opt/kata-blue/share/kata-containers/kata-containers-nvidia-gpu.img',
    );
    expect(effective(changes, 'kata-clh-blue').hypervisor.path).toBe('/usr/local/opt/kata-blue/bin/cloud-hypervisor');
    expect(changes[0]!.path).toBe(
      '/usr/local/opt/kata-blue/share/defaults/kata-containers/runtimes/qemu/configuration-qemu.toml',
    );
  });

  it(
    'plans nothing when every file is already as wanted, and only deletes the drop-ins of ours that are no longer ' +
      'wanted',
    () => {
      const env = { DEBUG: 'true', AGENT_HTTPS_PROXY: 'http://p:1' };
      const current = new Map(plan(env).map((change) => [change.path, change.after!] as const));
      expect(plan(env, current)).toEqual([]);
      const withoutProxy = plan({ DEBUG: 'true' }, current);
      expect(
        withoutProxy.map((change) => [shortPath(change.path), change.after === undefined ? 'delete' : 'write']),
      ).toEqual([
        ['kata-qemu/config.d/30-agent-proxy.toml', 'delete'],
        ['kata-qemu-debug/config.d/30-agent-proxy.toml', 'delete'],
        ['kata-clh/config.d/30-agent-proxy.toml', 'delete'],
        ['kata-clh-debug/config.d/30-agent-proxy.toml', 'delete'],
        ['kata-qemu-snp-runtime-rs/config.d/30-agent-proxy.toml', 'delete'],
        ['kata-qemu-snp-runtime-rs-debug/config.d/30-agent-proxy.toml', 'delete'],
        ['kata-qemu-nvidia-gpu/config.d/30-agent-proxy.toml', 'delete'],
        ['kata-qemu-nvidia-gpu-debug/config.d/30-agent-proxy.toml', 'delete'],
      ]);
    },
  );

  it('names the hypervisor table as each shim own config does (runtime-rs Cloud Hypervisor)', () => {
    const settings = parseSettings({
      env: { SHIMS_X86_64: 'clh-runtime-rs', DEBUG: 'true' },
      flags: {},
      arch: 'x86_64',
    });
    const changes = planKataConfigFiles(handlersFor(settings), settings, pristine, () => undefined);
    expect(changes.find((change) => change.path.endsWith('20-debug.toml'))!.after!.toString()).toContain(
      '[hypervisor.cloud-hypervisor]\nenable_debug = true',
    );
  });
});
