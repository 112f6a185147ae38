import { chmod } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { planRuntimeConfig } from '../../src/containerd/config/plan.js';
import {
  assertChangedConfigAccepted,
  assertCurrentConfigAccepted,
  validateRuntimeConfigPlan,
} from '../../src/containerd/config/validate-plan.js';
import { renderDropIn } from '../../src/containerd/config/drop-in-plan.js';
import {
  containerdBinary,
  containerdComplaint,
  containerdValidator,
  rebaseImports,
} from '../../src/containerd/config/validator.js';
import { childProcessRunner } from '../../src/host/command-runner.js';
import { privateScratch } from '../helpers/private-scratch.js';
import { containerdBinaries } from '../helpers/containerd-binaries.js';
import { makeTempRoot, type TempRoot } from '../helpers/temp-root.js';
import { request, semver } from './fixtures.js';

const CONFIG = '/etc/containerd/config.toml';
const [v16] = containerdBinaries();

describe('the containerd config validator', () => {
  let root: TempRoot | undefined;
  afterEach(async () => {
    await root?.cleanup();
    root = undefined;
  });

  it('rewrites absolute and relative imports of the throwaway copy into the scratch tree', () => {
    const copy = rebaseImports(
      CONFIG,
      Buffer.from('version = 3\nimports = [\'/etc/containerd/conf.d/*.toml\', "extra.toml"]\n# keep\n'),
      '/tmp/s',
    );
    expect(copy.toString()).toBe(
      'version = 3\nimports = ["/tmp/s/etc/containerd/conf.d/*.toml", "/tmp/s/etc/containerd/extra.toml"]\n# keep\n',
    );
  });

  it("prefers the host's own binary under the host root, else containerd on PATH", async () => {
    root = await makeTempRoot({ '/usr/local/bin/containerd': '#!/bin/sh\n' });
    expect(containerdBinary({ hostRoot: root.root })).toBe(path.join(root.root, '/usr/local/bin/containerd'));
    expect(containerdBinary({ hostRoot: '/nonexistent-root' })).toBe('containerd');
    expect(containerdBinary({ hostRoot: root.root, binary: '/opt/k3s/containerd' })).toBe('/opt/k3s/containerd');
  });

  it('prefers the containerd a distribution bundles over a stray host binary', async () => {
    root = await makeTempRoot({ '/usr/bin/containerd': '', '/var/lib/rancher/rke2/bin/containerd': '' });
    expect(containerdBinary({ hostRoot: root.root, flavour: 'rke2-agent' })).toBe(
      path.join(root.root, '/var/lib/rancher/rke2/bin/containerd'),
    );
    expect(containerdBinary({ hostRoot: root.root, flavour: 'k3s' })).toBe(path.join(root.root, '/usr/bin/containerd'));
  });

  it('refuses before any change when containerd rejects the current config, quoting containerd', async () => {
    const validator = containerdValidator({
      runner: childProcessRunner,
      scratch: privateScratch(),
      binary: v16?.path ?? '/usr/bin/containerd',
    });
    const current = new Map([
      [CONFIG, Buffer.from('version = 2\n[plugins."io.containerd.gc.v1.scheduler"]\n  pause_threshold = 1\n')],
    ]);
    await expect(
      assertCurrentConfigAccepted(validator, request({ daemonVersion: semver('1.6.20') }), current),
    ).rejects.toMatchObject({
      code: 'config-refused',
      message: expect.stringMatching(
        new RegExp(
          /refuses the current config \/etc\/containerd\/config\.toml \(before any change\): /.source +
            /.*(float|pause_threshold|int)/.source,
          'i',
        ),
      ),
    });
  });

  it('catches a containerd 1.x import that replaces the CRI section and would hide our handlers', async () => {
    const validator = containerdValidator({
      runner: childProcessRunner,
      scratch: privateScratch(),
      binary: v16?.path ?? '/usr/bin/containerd',
    });
    const current = new Map<string, Buffer | undefined>([
      [CONFIG, Buffer.from('version = 2\nimports = ["/etc/containerd/cri.toml"]\n')],
      [
        '/etc/containerd/cri.toml',
        Buffer.from('version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "pause:3.9"\n'),
      ],
    ]);
    const req = request({ daemonVersion: semver('1.6.20') });
    const plan = planRuntimeConfig(req, current, undefined);
    await expect(validateRuntimeConfigPlan(validator, req, current, plan)).rejects.toMatchObject({
      code: 'config-refused',
      message: expect.stringMatching(/does not load runtime handler\(s\) kata-qemu/),
    });
  });

  it(
    "refuses a drop-in that would make containerd 2.1 drop the operator's v2 settings (a v3 drop-in on a v2 " + 'main)',
    async () => {
      const v21 = containerdBinaries().find((binary) => binary.version.startsWith('2.1'));
      const validator = containerdValidator({
        runner: childProcessRunner,
        scratch: privateScratch(),
        binary: v21?.path ?? 'containerd',
      });
      const req = request({ daemonVersion: semver('2.1.9') });
      const current = new Map<string, Buffer | undefined>([
        [
          CONFIG,
          Buffer.from(
            'version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "local.registry/pause:3.10"\n',
          ),
        ],
      ]);
      const plan = planRuntimeConfig(req, current, undefined);
      expect(plan.changes.find((change) => change.path.endsWith('kata-deploy.toml'))?.after?.toString()).toContain(
        'version = 2\n',
      );
      const currentDump = await assertCurrentConfigAccepted(validator, req, current);
      await expect(assertChangedConfigAccepted(validator, req, current, plan, currentDump)).resolves.toContain(
        'local.registry/pause:3.10',
      );
      const v3DropIn = plan.changes.map((change) =>
        change.path.endsWith('kata-deploy.toml') ? { ...change, after: Buffer.from(renderDropIn(req, 3)) } : change,
      );
      await expect(
        assertChangedConfigAccepted(validator, req, current, { ...plan, changes: v3DropIn }, currentDump),
      ).rejects.toMatchObject({
        code: 'config-refused',
        message: expect.stringMatching(
          /would also change plugins\.io\.containerd\.cri\.v1\.images\.pinned_images\.sandbox/,
        ),
      });
    },
  );

  it('reports a binary that cannot run instead of accepting the config', async () => {
    root = await makeTempRoot({ '/bin/containerd': '#!/bin/sh\necho "boom: cannot start" >&2\nexit 3\n' });
    await chmod(path.join(root.root, '/bin/containerd'), 0o755);
    const validator = containerdValidator({
      runner: childProcessRunner,
      scratch: privateScratch(),
      binary: path.join(root.root, '/bin/containerd'),
    });
    expect(await validator.validate(CONFIG, new Map([[CONFIG, Buffer.from('version = 2\n')]]))).toEqual({
      ok: false,
      message: 'boom: cannot start',
    });
  });
});

describe("containerd's complaint", () => {
  it('keeps error lines as their message and error, drops info lines and repeats', () => {
    const output = [
      'time="2026-11-29T17:29:16Z" level=info msg="starting"',
      'time="2026-11-29T17:29:16Z" level=error msg="containerd config version `3` is not \\"supported\\"" error="bad"',
      'containerd: failed to load TOML from /etc/containerd/config.toml: unsupported config version `3`',
    ].join('\n');
    expect(containerdComplaint(output)).toBe(
      'containerd config version `3` is not "supported": bad\ncontainerd: failed to load TOML from ' +
        '/etc/containerd/config.toml: unsupported config version `3`',
    );
  });
});
