import { describe, expect, it } from 'vitest';
import { ledgerPathsOutOfScope, ledgerScopeFor } from '../../src/transaction/ledger-scope.js';
import type { Ledger } from '../../src/transaction/ledger.js';

const scope = ledgerScopeFor({ installDir: '/opt/kata-dev', multiInstallSuffix: 'dev' }, ['/etc/containerd']);

function ledger(parts: Partial<Ledger>): Ledger {
  return { files: [], journal: [], createdDirs: [], createdStateDirs: [], ...parts } as unknown as Ledger;
}

describe('the paths a ledger may name', () => {
  it("accepts the install's own modules-load.d file and shim links named like ours", () => {
    const own = ledger({
      files: [{ path: '/etc/modules-load.d/kata-containers-dev.conf' }],
      createdDirs: ['/etc/modules-load.d'],
      shimLinks: [{ handler: 'kata-qemu-dev', path: '/usr/local/sbin/containerd-shim-kata-qemu-dev-v2' }],
    } as unknown as Partial<Ledger>);
    expect(ledgerPathsOutOfScope(own, scope)).toEqual([]);
  });

  it("refuses another install's modules file and a link that is not a shim link", () => {
    const planted = ledger({
      files: [{ path: '/etc/modules-load.d/kata-containers-default.conf' }],
      createdDirs: ['/etc/systemd'],
      shimLinks: [
        { handler: 'kata-qemu-dev', path: '/usr/local/sbin/containerd' },
        { handler: 'kata-qemu-dev', path: '/usr/local/sbin/../bin/containerd-shim-kata-qemu-v2' },
      ],
    } as unknown as Partial<Ledger>);
    expect(ledgerPathsOutOfScope(planted, scope)).toEqual([
      '/etc/modules-load.d/kata-containers-default.conf',
      '/etc/systemd',
      '/usr/local/sbin/containerd',
      '/usr/local/sbin/../bin/containerd-shim-kata-qemu-v2',
    ]);
  });
});
