import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KataDeployError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/host/logger.js';
import { KATA_RUNTIME_LABEL as SHARED, markLabel } from '../../src/kube/labels.js';
import { daemonExitCode, runDaemon } from '../../src/modes/daemon.js';
import { terminationSignal } from '../../src/modes/daemon-signals.js';
import type { DaemonDeps, DaemonInstallOutcome } from '../../src/modes/daemon-types.js';
import { startFakeKube, type FakeKubeSetup } from '../helpers/fake-kube-setup.js';

let setup: FakeKubeSetup;
const MARK = markLabel(undefined);

beforeEach(async () => {
  setup = await startFakeKube('worker-1');
  setup.api.addNode('worker-1', { 'kata-capable': 'yes' });
});
afterEach(async () => setup.cleanup());

async function probe(port: number, path: string): Promise<number> {
  return (await fetch(`http://127.0.0.1:${port}${path}`)).status;
}

/** A daemon run whose termination the test triggers once the daemon is ready. */
function daemon(overrides: Partial<DaemonDeps> = {}) {
  const calls: string[] = [];
  let terminate: () => void = () => {};
  let readyPort = -1;
  const deps: DaemonDeps = {
    settings: { multiInstallSuffix: undefined, startupTaints: [] },
    install: async () => {
      calls.push('install');
      return { kind: 'installed', summary: 'installed 2 handlers' } satisfies DaemonInstallOutcome;
    },
    uninstall: async () => {
      calls.push('uninstall');
    },
    kube: setup.access,
    daemonSet: { namespace: 'kata-deploy', name: 'kata-deploy' },
    healthPort: 0,
    healthHost: '127.0.0.1',
    terminated: new Promise<void>((resolve) => {
      terminate = resolve;
    }),
    clock: setup.clock,
    log: silentLogger(),
    onReady: (port) => {
      readyPort = port;
    },
    ...overrides,
  };
  return { deps, calls, terminate: () => terminate(), port: () => readyPort };
}

describe('kata-deploy daemon', () => {
  it('installs, labels, becomes ready, and on SIGTERM during a rolling update leaves the node untouched', async () => {
    setup.api.addDaemonSet('kata-deploy', 'kata-deploy', { nodeSelector: { 'kata-capable': 'yes' } });
    const run = daemon();
    const probes: number[] = [];
    const exit = await runDaemon({
      ...run.deps,
      onReady: async (port) => {
        probes.push(await probe(port, '/healthz'), await probe(port, '/readyz'));
        run.terminate();
      },
    });
    expect(probes).toEqual([200, 200]);
    expect(exit).toMatchObject({ kind: 'left-installed' });
    expect(daemonExitCode(exit)).toBe(0);
    expect(run.calls).toEqual(['install']);
    expect(setup.api.labels('worker-1')).toMatchObject({ [SHARED]: 'true', [MARK]: 'true' });
    expect(setup.api.events.map((e) => e.reason)).toEqual(['KataInstalled']);
  });

  it('does not start an install when SIGTERM came before it could begin', async () => {
    setup.api.addDaemonSet('kata-deploy', 'kata-deploy', { nodeSelector: { 'kata-capable': 'yes' } });
    const run = daemon({ terminated: Promise.resolve() });
    const exit = await runDaemon(run.deps);
    expect(run.calls).toEqual([]);
    expect(exit).toMatchObject({ kind: 'left-installed' });
  });

  it('is live but not ready while the install runs', async () => {
    setup.api.addDaemonSet('kata-deploy', 'kata-deploy');
    const run = daemon();
    let port = -1;
    const seen: number[] = [];
    await runDaemon({
      ...run.deps,
      onListening: (listening) => {
        port = listening;
      },
      install: async () => {
        seen.push(await probe(port, '/healthz'), await probe(port, '/readyz'));
        return { kind: 'converged', summary: 'already installed' };
      },
      onReady: () => run.terminate(),
    });
    expect(seen).toEqual([200, 503]);
  });

  it('uninstalls and releases the labels when the DaemonSet is gone', async () => {
    const run = daemon({ onReady: () => run.terminate() });
    const exit = await runDaemon(run.deps);
    expect(exit).toMatchObject({ kind: 'uninstalled', reason: 'DaemonSet is gone' });
    expect(run.calls).toEqual(['install', 'uninstall']);
    expect(setup.api.labels('worker-1')[SHARED]).toBeUndefined();
    expect(setup.api.labels('worker-1')[MARK]).toBeUndefined();
    expect(setup.api.events.map((e) => e.reason)).toEqual(['KataInstalled', 'KataUninstalled']);
  });

  it('uninstalls when the DaemonSet no longer selects the node by nodeSelector', async () => {
    setup.api.addDaemonSet('kata-deploy', 'kata-deploy', { nodeSelector: { 'kata-capable': 'no' } });
    const run = daemon({ onReady: () => run.terminate() });
    const exit = await runDaemon(run.deps);
    expect(exit).toMatchObject({
      kind: 'uninstalled',
      reason: expect.stringContaining('nodeSelector kata-capable=no'),
    });
    expect(run.calls).toEqual(['install', 'uninstall']);
  });

  it('uninstalls when the required node affinity excludes the node by name', async () => {
    setup.api.addDaemonSet('kata-deploy', 'kata-deploy', {
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'NotIn', values: ['worker-1'] }] }],
          },
        },
      },
    });
    const run = daemon({ onReady: () => run.terminate() });
    expect(await runDaemon(run.deps)).toMatchObject({ kind: 'uninstalled' });
  });

  it('leaves Kata installed when the DaemonSet cannot be read on SIGTERM', async () => {
    setup.api.forbidden.add('get daemonsets');
    const run = daemon({ onReady: () => run.terminate() });
    expect(await runDaemon(run.deps)).toMatchObject({
      kind: 'left-installed',
      reason: expect.stringContaining('could not read'),
    });
    expect(run.calls).toEqual(['install']);
  });

  it('a failed install leaves the node claimed false, records a Warning event and exits with its code', async () => {
    const run = daemon({
      install: async () => {
        throw new KataDeployError('config-refused', 'containerd refused the merged config');
      },
    });
    const exit = await runDaemon(run.deps);
    expect(exit).toMatchObject({ kind: 'install-failed' });
    expect(daemonExitCode(exit)).toBe(5);
    expect(setup.api.labels('worker-1')).toMatchObject({ [SHARED]: 'false', [MARK]: 'false' });
    expect(setup.api.events.map((e) => [e.type, e.reason])).toEqual([['Warning', 'KataInstallFailed']]);
  });

  it('a rolled-back install is reported as such', async () => {
    const run = daemon({
      install: async () => ({
        kind: 'rolled-back',
        summary: 'restored the runtime config',
        error: new KataDeployError('restart-failed', 'containerd did not come back'),
      }),
    });
    expect(daemonExitCode(await runDaemon(run.deps))).toBe(6);
    expect(setup.api.events.map((e) => e.reason)).toEqual(['KataInstallRolledBack']);
  });

  it('a restarted pod on a converged node writes nothing and records no event', async () => {
    setup.api.mutateNode('worker-1', (node) => {
      Object.assign(node.metadata.labels, { [SHARED]: 'true', [MARK]: 'true' });
    });
    setup.api.addDaemonSet('kata-deploy', 'kata-deploy');
    const run = daemon({
      install: async () => ({ kind: 'converged', summary: 'nothing to do' }),
      onReady: () => run.terminate(),
    });
    await runDaemon(run.deps);
    expect(setup.api.requests.filter((r) => r.method !== 'GET')).toEqual([]);
  });

  it('a fresh install and label costs at most 6 API requests', async () => {
    setup.api.addDaemonSet('kata-deploy', 'kata-deploy');
    const run = daemon({ onReady: () => run.terminate() });
    await runDaemon(run.deps);
    const nodeRequests = setup.api.requests.filter((r) => !r.path.includes('daemonsets')).length;
    const installRequests = nodeRequests - 1; // minus the SIGTERM node read
    expect(installRequests).toBeLessThanOrEqual(6);
  });

  it('without API access it installs, serves health and never uninstalls', async () => {
    const run = daemon({ kube: undefined, onReady: () => run.terminate() });
    expect(await runDaemon(run.deps)).toMatchObject({ kind: 'left-installed' });
    expect(run.calls).toEqual(['install']);
    expect(setup.api.requests).toEqual([]);
  });

  it('ends on a real SIGTERM delivered to the process', async () => {
    const termination = terminationSignal();
    try {
      const run = daemon({
        kube: undefined,
        terminated: termination.signal,
        onReady: () => process.kill(process.pid, 'SIGTERM'),
      });
      expect(await runDaemon(run.deps)).toMatchObject({ kind: 'left-installed' });
      expect(await termination.signal).toBe('SIGTERM');
    } finally {
      termination.dispose();
    }
  });
});
