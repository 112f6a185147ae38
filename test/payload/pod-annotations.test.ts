import TOML from '@iarna/toml';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { handlersFor } from '../../src/core/handlers.js';
import { SHIM_CATALOGUE } from '../../src/core/shims.js';
import { renderTables, handlerTables } from '../../src/containerd/config/handler-tables.js';
import { NodeHostFs } from '../../src/host/node-host-fs.js';
import { withPodAnnotations } from '../../src/payload/kata-config/handler-annotations.js';
import { podAnnotationsFor } from '../../src/payload/kata-config/pod-annotations.js';
import { planKataConfigFiles } from '../../src/payload/index.js';
import { parseSettings } from '../../src/settings/parse-settings.js';
// @ts-expect-error plain ESM script without types
import { renderSampleConfig } from '../../scripts/sample-kata-config.mjs';

const PREFIX = 'io.katacontainers.config.hypervisor.';
const pristineText = (shim: string): string => renderSampleConfig(SHIM_CATALOGUE.get(shim), 'x86_64') as string;

describe('podAnnotationsFor', () => {
  it('maps the pristine enable_annotations to Kata hypervisor annotations, with no wildcard', () => {
    expect(podAnnotationsFor(pristineText('qemu'), [], [])).toEqual([
      `${PREFIX}enable_iommu`,
      `${PREFIX}virtio_fs_extra_args`,
      `${PREFIX}kernel_params`,
    ]);
  });

  it('takes the last config.d file that sets enable_annotations, then the extras', () => {
    const later = '[hypervisor.qemu]\nenable_annotations = ["default_vcpus"]\n';
    const other = '[hypervisor.qemu]\nkernel_params = "x"\n';
    expect(podAnnotationsFor(pristineText('qemu'), [later, other], ['example.com/a'])).toEqual([
      `${PREFIX}default_vcpus`,
      'example.com/a',
    ]);
  });

  it('ignores a drop-in naming another hypervisor table, and a pristine file without the key', () => {
    const foreign = '[hypervisor.clh]\nenable_annotations = ["path"]\n';
    expect(podAnnotationsFor('[hypervisor.qemu]\npath = "/x"\n', [foreign], [])).toEqual([]);
  });
});

describe('pod_annotations of each handler, end to end through the planned Kata configs', () => {
  let root: string | undefined;
  afterEach(() => {
    if (root !== undefined) rmSync(root, { recursive: true, force: true });
  });

  it('follows ALLOWED_HYPERVISOR_ANNOTATIONS (shim:a,b is two names) and the two extra variables', async () => {
    root = mkdtempSync(path.join(tmpdir(), 'kd-annotations-'));
    const settings = parseSettings({
      env: {
        SHIMS_X86_64: 'qemu clh',
        ALLOWED_HYPERVISOR_ANNOTATIONS_X86_64: 'default_memory qemu:default_vcpus,path',
        CONTAINERD_EXTRA_POD_ANNOTATIONS: 'example.com/all',
        CONTAINERD_SHIM_EXTRA_POD_ANNOTATIONS_X86_64: 'clh:example.com/clh-only',
      },
      flags: {},
      arch: 'x86_64',
    });
    const fs = new NodeHostFs(root);
    const handlers = handlersFor(settings);
    const changes = planKataConfigFiles(
      handlers,
      settings,
      (shim) => Buffer.from(pristineText(shim)),
      () => undefined,
    );
    const clhDir = path.posix.dirname(handlers[1]!.configPath);
    await fs.mkdirp(`${clhDir}/config.d`);
    await fs.writeFileAtomic(`${clhDir}/config.d/90-operator.toml`, '[hypervisor.clh]\nenable_annotations = []\n');
    const readPristine = async (shim: string) => Buffer.from(pristineText(shim));
    const annotated = await withPodAnnotations(handlers, changes, readPristine, fs, settings.upstream);
    const base = ['enable_iommu', 'virtio_fs_extra_args', 'kernel_params'].map((name) => `${PREFIX}${name}`);
    expect(annotated[0]!.podAnnotations).toEqual([
      ...base,
      ...['default_memory', 'default_vcpus', 'path'].map((name) => `${PREFIX}${name}`),
      'example.com/all',
    ]);
    expect(annotated[1]!.podAnnotations).toEqual(['example.com/all', 'example.com/clh-only']);

    // biome-ignore lint/suspicious/noExplicitAny: parsed TOML, read field by field
    const rendered = TOML.parse(renderTables(handlerTables(3, annotated, undefined), '\n')) as Record<string, any>;
    const runtimes = rendered.plugins['io.containerd.cri.v1.runtime'].containerd.runtimes;
    expect(runtimes['kata-clh']).toMatchObject({
      pod_annotations: ['example.com/all', 'example.com/clh-only'],
      container_annotations: ['io.kubernetes.container.terminationMessage*'],
    });
  });
});
