import { describe, expect, it } from 'vitest';
import { planRuntimeConfig } from '../../src/containerd/config/plan.js';
import { planRuntimeConfigRemoval } from '../../src/containerd/config/removal.js';
import type { RuntimeConfigRequest } from '../../src/containerd/config/request.js';
import { userDropInOverreach, userDropInScope } from '../../src/containerd/config/user-drop-in-dump.js';
import { KataDeployError } from '../../src/core/errors.js';
import { ledgerPathsOutOfScope, ledgerScopeFor } from '../../src/transaction/ledger-scope.js';
import { applied, request, sameFiles, semver } from './fixtures.js';

const CONFIG = '/etc/containerd/config.toml';
const SOURCE = '/custom-containerd-config/containerd-user-dropin.toml';
const V3_MAIN = 'version = 3\n\n[plugins."io.containerd.cri.v1.images"]\n  snapshotter = "overlayfs"\n';
const V3_USER =
  'version = 3\n[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runsc]\n  runtime_type = "x"\n';

function wanted(user: string, overrides: Partial<RuntimeConfigRequest> = {}): RuntimeConfigRequest {
  return request({
    daemonVersion: semver('2.1.4'),
    userDropIn: { source: SOURCE, bytes: Buffer.from(user) },
    ...overrides,
  });
}

function inputs(files: Record<string, string>, suffix?: string): Map<string, Buffer | undefined> {
  const name = (base: string) => `/etc/containerd/conf.d/${base}${suffix === undefined ? '' : `-${suffix}`}.toml`;
  const current = new Map<string, Buffer | undefined>([
    [name('kata-deploy'), undefined],
    [name('zz-kata-deploy-user'), undefined],
  ]);
  for (const [file, text] of Object.entries(files)) current.set(file, Buffer.from(text));
  return current;
}

function refusal(fn: () => unknown): KataDeployError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(KataDeployError);
    expect((error as KataDeployError).code).toBe('config-refused');
    return error as KataDeployError;
  }
  throw new Error('expected a refusal');
}

describe('CONTAINERD_USER_DROP_IN_SOURCE_FILE on containerd 2.x (drop-in mode)', () => {
  it('copies the file verbatim beside our drop-in and imports it right after ours', () => {
    const user = `# mine\n${V3_USER}   \n`;
    const current = inputs({ [CONFIG]: V3_MAIN });
    const plan = planRuntimeConfig(wanted(user), current, undefined);
    const copy = plan.changes.find((change) => change.path === '/etc/containerd/conf.d/zz-kata-deploy-user.toml');
    expect(copy?.after?.toString()).toBe(user);
    const main = plan.changes.find((change) => change.path === CONFIG)?.after?.toString() ?? '';
    expect(main.split('\n').find((line) => line.startsWith('imports'))).toBe(
      'imports = ["/etc/containerd/conf.d/kata-deploy.toml", "/etc/containerd/conf.d/zz-kata-deploy-user.toml"]',
    );
    const recordedMain = plan.record.files.find((file) => file.path === CONFIG);
    expect(recordedMain).toMatchObject({
      importEntry: '/etc/containerd/conf.d/kata-deploy.toml',
      userImportEntry: '/etc/containerd/conf.d/zz-kata-deploy-user.toml',
    });
    const installed = applied(current, plan.changes);
    expect(sameFiles(applied(installed, planRuntimeConfigRemoval(plan.record, installed)), current)).toEqual([]);
  });

  it('adds both entries to an operator imports list and removes exactly them when the variable is unset', () => {
    const main = `imports = [\n  "/etc/containerd/extra.toml", # theirs\n]\n${V3_MAIN}`;
    const current = inputs({ [CONFIG]: main, '/etc/containerd/extra.toml': 'version = 3\n' });
    const plan = planRuntimeConfig(wanted(V3_USER), current, undefined);
    const installed = applied(current, plan.changes);
    const { userDropIn: _unset, ...plain } = wanted(V3_USER);
    const dropped = planRuntimeConfig(plain, installed, plan.record);
    const after = applied(installed, dropped.changes);
    expect(after.get('/etc/containerd/conf.d/zz-kata-deploy-user.toml')).toBeUndefined();
    expect(after.get(CONFIG)?.toString()).toContain('imports = [\n  "/etc/containerd/conf.d/kata-deploy.toml", ');
    expect(after.get(CONFIG)?.toString()).not.toContain('zz-kata-deploy-user');
    expect(sameFiles(applied(after, planRuntimeConfigRemoval(dropped.record, after)), current)).toEqual([]);
  });

  it('relies on a conf.d glob (containerd 2.2 default) and names the file with the install suffix', () => {
    const current = inputs({ [CONFIG]: V3_MAIN }, 'beta');
    const plan = planRuntimeConfig(
      wanted(V3_USER, { daemonVersion: semver('2.2.0'), suffix: 'beta' }),
      current,
      undefined,
    );
    expect(plan.changes.map((change) => change.path).sort()).toEqual([
      '/etc/containerd/conf.d/kata-deploy-beta.toml',
      '/etc/containerd/conf.d/zz-kata-deploy-user-beta.toml',
    ]);
  });

  it('converges: a second plan with the same file changes nothing', () => {
    const current = inputs({ [CONFIG]: V3_MAIN });
    const plan = planRuntimeConfig(wanted(V3_USER), current, undefined);
    expect(planRuntimeConfig(wanted(V3_USER), applied(current, plan.changes), plan.record).changes).toEqual([]);
  });

  it.each([
    ['is not TOML', 'version = 3\n[plugins\n', `${SOURCE}`],
    ['declares another version', 'version = 2\n', 'declares version = 2, but containerd reads'],
    ['has no version (v1)', '[debug]\nlevel = "info"\n', 'declares version = 1'],
    [
      'uses v2 CRI IDs on a v3 node',
      'version = 3\n[plugins."io.containerd.grpc.v1.cri"]\nx = 1\n',
      'which containerd ignores on this node',
    ],
    [
      "redefines our handler's shim",
      'version = 3\n[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.kata-qemu]\nruntime_path = "/x"\n',
      'sets kata-qemu.runtime_path',
    ],
  ])('refuses a drop-in that %s, naming the source file', (_case, user, message) => {
    const error = refusal(() => planRuntimeConfig(wanted(user), inputs({ [CONFIG]: V3_MAIN }), undefined));
    expect(error.message).toContain(SOURCE);
    expect(error.message).toContain(message);
  });

  it("accepts other keys of our handlers (the operator's tuning wins, as upstream)", () => {
    const user =
      'version = 3\n[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.kata-qemu]\n' +
      'privileged_without_host_devices_all_devices_allowed = true\n';
    expect(() => planRuntimeConfig(wanted(user), inputs({ [CONFIG]: V3_MAIN }), undefined)).not.toThrow();
  });

  it('refuses a v3-ID drop-in on a v2 node, whose CRI migration it would stop', () => {
    const main = 'version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "p"\n';
    const user = 'version = 2\n[plugins."io.containerd.cri.v1.images"]\n  snapshotter = "native"\n';
    expect(refusal(() => planRuntimeConfig(wanted(user), inputs({ [CONFIG]: main }), undefined)).message).toContain(
      'would stop containerd migrating the v2 CRI section',
    );
  });

  it('refuses a file by that name it did not write', () => {
    const current = inputs({ [CONFIG]: V3_MAIN, '/etc/containerd/conf.d/zz-kata-deploy-user.toml': 'version = 3\n' });
    expect(refusal(() => planRuntimeConfig(wanted(V3_USER), current, undefined)).message).toContain(
      'already exists and was not written by this install',
    );
  });

  it("refuses when the operator's import glob reads our drop-in but not the user one", () => {
    const main = `imports = ["/etc/containerd/conf.d/kata-*.toml"]\n${V3_MAIN}`;
    expect(refusal(() => planRuntimeConfig(wanted(V3_USER), inputs({ [CONFIG]: main }), undefined)).message).toContain(
      'does not match zz-kata-deploy-user.toml',
    );
  });
});

describe('CONTAINERD_USER_DROP_IN_SOURCE_FILE where containerd would not merge it safely', () => {
  it.each(['1.6.20', '1.7.24'])('refuses on containerd %s, whose imports replace whole plugin sections', (version) => {
    const main = 'version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "p"\n';
    const user = 'version = 2\n[plugins."io.containerd.gc.v1.scheduler"]\n  pause_threshold = 0.03\n';
    const error = refusal(() =>
      planRuntimeConfig(wanted(user, { daemonVersion: semver(version) }), inputs({ [CONFIG]: main }), undefined),
    );
    expect(error.message).toContain(`CONTAINERD_USER_DROP_IN_SOURCE_FILE=${SOURCE}`);
    expect(error.message).toContain('replacing each plugin section it names as a whole');
    expect(error.message).toContain('zz-kata-deploy-user.toml cannot be installed');
  });

  it('refuses on CRI-O and on microk8s', () => {
    const crio = wanted(V3_USER, { flavour: 'crio', configPath: '/etc/crio/crio.conf' });
    expect(refusal(() => planRuntimeConfig(crio, new Map(), undefined)).message).toContain('CRI-O reads no');
    const microk8s = wanted(V3_USER, {
      flavour: 'microk8s',
      configPath: '/var/snap/microk8s/current/args/containerd-template.toml',
    });
    expect(refusal(() => planRuntimeConfig(microk8s, new Map(), undefined)).message).toContain('microk8s renders');
  });
});

describe('what the user drop-in may change in the merged config', () => {
  it('licenses tables that set values, values outside them, never a table of tables', () => {
    const scope = userDropInScope({
      version: 3,
      debug: { level: 'info' },
      plugins: { 'io.containerd.gc.v1.scheduler': { pause_threshold: 0.03 }, x: { y: { z: 1 } } },
    });
    expect(scope).toEqual([['debug'], ['plugins', 'io.containerd.gc.v1.scheduler'], ['plugins', 'x', 'y']]);
  });

  it('flags a change outside what the file names, and nothing inside it', () => {
    const user = { plugins: { gc: { pause_threshold: 0.03 } } };
    const base = { version: 3, plugins: { gc: { pause_threshold: 0.02, deletion_threshold: 0 }, cri: { a: 1 } } };
    const inside = { version: 3, plugins: { gc: { pause_threshold: 0.03, deletion_threshold: 0 }, cri: { a: 1 } } };
    expect(userDropInOverreach(base, inside, user)).toBeUndefined();
    const outside = { ...inside, plugins: { ...inside.plugins, cri: { a: 2 } } };
    expect(userDropInOverreach(base, outside, user)).toBe('plugins.cri.a');
  });

  it('lets a v2 file change the v3 CRI plugins containerd 2.x migrates it into', () => {
    const user = { plugins: { 'io.containerd.grpc.v1.cri': { registry: { config_path: '/d' } } } };
    const base = { plugins: { 'io.containerd.cri.v1.images': { registry: { config_path: '' } } } };
    const withUser = { plugins: { 'io.containerd.cri.v1.images': { registry: { config_path: '/d' } } } };
    expect(userDropInOverreach(base, withUser, user)).toBeUndefined();
  });
});

describe("the ledger scope admits the user drop-in's name", () => {
  it('accepts zz-kata-deploy-user-<suffix>.toml in an imports-glob directory, not another name', () => {
    const scope = ledgerScopeFor({ installDir: '/opt/kata-beta', multiInstallSuffix: 'beta' }, ['/etc/containerd']);
    const ledger = (file: string) => ({ files: [{ path: file }] }) as never;
    expect(ledgerPathsOutOfScope(ledger('/srv/conf.d/zz-kata-deploy-user-beta.toml'), scope)).toEqual([]);
    expect(ledgerPathsOutOfScope(ledger('/srv/conf.d/zz-other.toml'), scope)).toEqual(['/srv/conf.d/zz-other.toml']);
  });
});
