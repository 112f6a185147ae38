import { describe, expect, it } from 'vitest';
import { colourPlan, plain, type Paint } from '../../src/cli/colour.js';
import { statusText } from '../../src/cli/render.js';
import { formatTable } from '../../src/cli/table.js';
import type { StatusReport } from '../../src/transaction/status.js';

const REPORT: StatusReport = {
  installed: true,
  phase: 'installed',
  handlers: ['kata-qemu', 'kata-clh'],
  payloadDigest: 'tree:ab12',
  payloadSource: '/opt/kata-artifacts/kata-static.tar.zst',
  shims: ['qemu', 'clh'],
  files: [
    { path: '/etc/containerd/config.toml', state: 'changed' },
    {
      path: '/opt/kata/share/defaults/kata-containers/handlers/kata-qemu/configuration-qemu.toml',
      state: 'as-written',
    },
  ],
  live: { answered: true, handlers: ['kata-qemu', 'runc'], missing: ['kata-clh'] },
  launch: [
    {
      handler: 'kata-qemu',
      via: 'runtime_path',
      exec: '/opt/kata/bin/containerd-shim-kata-v2',
      launchable: true,
      reason: 'runtime_path /opt/kata/bin/containerd-shim-kata-v2 is our shim',
    },
  ],
  drift: [
    '/etc/containerd/config.toml is changed since kata-deploy wrote it',
    'the live runtime does not serve kata-clh',
  ],
  healthy: false,
};

describe('status for people', () => {
  it('aligns the install, each handler with its live state and each file with its drift', () => {
    expect(statusText(REPORT)).toBe(
      [
        'phase    installed',
        'payload  tree:ab12 from /opt/kata-artifacts/kata-static.tar.zst',
        'shims    qemu, clh',
        'healthy  no',
        '',
        'HANDLER    RUNTIME   LAUNCH',
        'kata-qemu  live      runtime_path /opt/kata/bin/containerd-shim-kata-v2 is our shim',
        'kata-clh   NOT live  not checked',
        '',
        'FILE                                                                                 STATE',
        '/etc/containerd/config.toml                                                          DRIFTED (changed)',
        '/opt/kata/share/defaults/kata-containers/handlers/kata-qemu/configuration-qemu.toml  as written',
        '',
        'drift:',
        '  /etc/containerd/config.toml is changed since kata-deploy wrote it',
        '  the live runtime does not serve kata-clh',
        '',
      ].join('\n'),
    );
  });

  it('says the live state is unknown when the runtime did not answer', () => {
    const silent = { ...REPORT, live: { answered: false, handlers: [], missing: ['kata-qemu', 'kata-clh'] } };
    expect(statusText(silent)).toContain('kata-clh   unknown (the runtime did not answer)  not checked\n');
  });

  it('pads every column but the last', () => {
    expect(
      formatTable([
        ['a', 'bb', 'c'],
        ['ccc', 'd', ''],
      ]),
    ).toBe('a    bb  c\nccc  d   \n');
  });
});

describe('the dry-run plan in colour', () => {
  const tag: Paint = (style, text) => `<${style}>${text}</${style}>`;
  const plan = [
    'files to add (1):',
    '  + /opt/kata/a.toml',
    '# add the Kata handlers',
    '--- a/etc/containerd/config.toml',
    '+++ b/etc/containerd/config.toml',
    '@@ -1,2 +1,3 @@',
    ' version = 2',
    '-old = 1',
    '+new = 1',
    '',
  ].join('\n');

  it('colours added and removed lines, hunk and file headers', () => {
    expect(colourPlan(plan, tag)).toBe(
      [
        'files to add (1):',
        '<green>  + /opt/kata/a.toml</green>',
        '<dim># add the Kata handlers</dim>',
        '<bold>--- a/etc/containerd/config.toml</bold>',
        '<bold>+++ b/etc/containerd/config.toml</bold>',
        '<cyan>@@ -1,2 +1,3 @@</cyan>',
        ' version = 2',
        '<red>-old = 1</red>',
        '<green>+new = 1</green>',
        '',
      ].join('\n'),
    );
  });

  it('returns the text unchanged when plain', () => {
    expect(colourPlan(plan, plain)).toBe(plan);
  });
});
