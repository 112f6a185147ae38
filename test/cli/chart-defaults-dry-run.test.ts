import { execFile } from 'node:child_process';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CHART_DEFAULT_SHIMS_X86_64, shimConfigDirRel, shimInfos } from '../../src/core/shims.js';
import { samplePayload } from '../helpers/sample-payload.js';
import { makeTempRoot, type TempRoot } from '../helpers/temp-root.js';
import { snapshotTree } from '../helpers/tree-snapshot.js';

const CLI = path.resolve(import.meta.dirname, '../../dist/cli/main.js');
const RUNC = '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]';
const CONFIG = `version = 2\n\n${RUNC}\n  runtime_type = "io.containerd.runc.v2"\n`;

/** What upstream 4.2's chart passes the binary on an amd64 node with its default values. */
const CHART_ENV: Record<string, string> = {
  NODE_NAME: '',
  DAEMONSET_NAME: 'kata-deploy',
  DEBUG: 'false',
  DEVKIT: 'false',
  SHIMS_X86_64: CHART_DEFAULT_SHIMS_X86_64.join(' '),
  DEFAULT_SHIM_X86_64: 'qemu-runtime-rs',
  ALLOWED_HYPERVISOR_ANNOTATIONS_X86_64: '',
  SNAPSHOTTER_HANDLER_MAPPING_X86_64: '',
  PULL_TYPE_MAPPING_X86_64: '',
  EXPERIMENTAL_FORCE_GUEST_PULL_X86_64: '',
  AGENT_HTTPS_PROXY: '',
  AGENT_NO_PROXY: '',
  INSTALLATION_PREFIX: '',
  MULTI_INSTALL_SUFFIX: '',
  HOST_OS: '',
  EXPERIMENTAL_SETUP_SNAPSHOTTER: 'nydus',
  EROFS_MERGE_MODE: '',
  EROFS_SNAPSHOTTER_MODE: '',
  EROFS_DMVERITY: '',
  CUSTOM_RUNTIMES_ENABLED: 'false',
  CONTAINERD_CONFIG_FILE_NAME: '',
  K8S_DISTRIBUTION: 'k8s',
  HEALTH_PORT: '8090',
  STARTUP_TAINTS: '',
};

let payload: string;
beforeAll(() => {
  payload = samplePayload();
});
let temp: TempRoot | undefined;
afterEach(async () => temp?.cleanup());

function dryRun(root: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const args = ['install', '--dry-run', '--host-root', root, '--payload', payload, '--restart', 'none'];
  const env = { PATH: process.env.PATH ?? '', LOG_FORMAT: 'json', KATA_REQUIRE_KVM: 'false', ...CHART_ENV };
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : ((error as { code?: number }).code ?? 1), stdout, stderr });
    });
  });
}

describe("install --dry-run with upstream 4.2's default amd64 chart variables", () => {
  it('plans every handler, each Kata config where upstream puts it, and writes nothing', async () => {
    temp = await makeTempRoot({ '/etc/containerd/config.toml': CONFIG, '/run/lock': { dir: true } });
    const before = await snapshotTree(temp.root, { times: true });
    const run = await dryRun(temp.root);
    expect(run.code, run.stderr).toBe(0);
    for (const shim of shimInfos(CHART_DEFAULT_SHIMS_X86_64)) {
      const config = `/opt/kata/${shimConfigDirRel(shim)}/runtimes/${shim.name}/configuration-${shim.name}.toml`;
      expect(run.stdout, shim.name).toContain(`+ ${config}`);
      expect(run.stdout, shim.name).toMatch(new RegExp(`^\\+.*runtimes\\.kata-${shim.name}\\]`, 'm'));
      expect(run.stdout, shim.name).toContain(`+ConfigPath = "${config}"`);
    }
    expect(run.stdout).toContain(
      '/opt/kata/share/defaults/kata-containers/runtime-rs/runtimes/openvmm-azure-runtime-rs/',
    );
    expect(run.stderr).toContain('EXPERIMENTAL_SETUP_SNAPSHOTTER=nydus: no selected handler uses nydus');
    expect(await snapshotTree(temp.root, { times: true })).toEqual(before);
  });
});
