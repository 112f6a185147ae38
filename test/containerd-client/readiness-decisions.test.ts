import { describe, expect, it } from 'vitest';
import type { CriStatus } from '../../src/containerd/cri-status.js';
import { GrpcError } from '../../src/containerd/grpc-unary.js';
import { criPluginProblem, type PluginInfo } from '../../src/containerd/introspection.js';
import { assessStatus, waitForHandlers, type ContainerdProbe } from '../../src/containerd/readiness.js';
import type { Clock } from '../../src/host/clock.js';
import { silentLogger } from '../../src/host/logger.js';

const READY: CriStatus = {
  runtimeReady: true,
  conditions: [{ type: 'RuntimeReady', status: true, reason: '', message: '' }],
  handlers: ['kata-qemu', 'runc'],
  runtimes: new Map(),
};

/** A clock that advances only when slept on, so deadlines pass without waiting. */
function fakeClock(): Clock & { slept: number[] } {
  let now = 0;
  const slept: number[] = [];
  const sleep = async (ms: number): Promise<void> => {
    slept.push(ms);
    now += ms;
  };
  return { now: () => now, sleep, slept };
}

function scriptedProbe(answers: (() => CriStatus)[], plugins: PluginInfo[] = []): ContainerdProbe {
  let call = 0;
  return {
    socketPath: '/run/containerd/containerd.sock',
    criStatus: async () => answers[Math.min(call++, answers.length - 1)]!(),
    plugins: async () => plugins,
    serving: async () => true,
  };
}

describe('judging a CRI Status', () => {
  it('is ready when every wanted handler is live and the runtime is ready', () => {
    expect(assessStatus(READY, ['runc', 'kata-qemu'])).toEqual({ ready: true, handlers: ['kata-qemu', 'runc'] });
  });
  it('names the missing handlers and the live ones', () => {
    expect(assessStatus(READY, ['runc', 'kata-clh'])).toMatchObject({
      ready: false,
      kind: 'handlers-missing',
      missing: ['kata-clh'],
      reason: 'CRI does not list runtime handler(s) kata-clh (live: kata-qemu, runc)',
    });
  });
  it('is not ready while RuntimeReady is false, quoting its message', () => {
    const status = {
      ...READY,
      runtimeReady: false,
      conditions: [{ type: 'RuntimeReady', status: false, reason: 'x', message: 'runtime is starting' }],
    };
    expect(assessStatus(status, ['runc'])).toMatchObject({
      ready: false,
      kind: 'runtime-not-ready',
      reason: 'CRI reports RuntimeReady=false: runtime is starting',
    });
  });
});

describe('finding why the CRI plugin is down', () => {
  const plugin = (type: string, id: string, initError?: string): PluginInfo => ({ type, id, initError });
  it('quotes the 1.6/1.7 CRI plugin init error', () => {
    expect(
      criPluginProblem([
        plugin('io.containerd.snapshotter.v1', 'zfs', 'skip plugin'),
        plugin('io.containerd.grpc.v1', 'cri', 'no runc'),
      ]),
    ).toBe('CRI plugin io.containerd.grpc.v1 cri failed to initialise: no runc');
  });
  it('quotes the 2.x runtime plugin (the root cause) rather than the gRPC service that depends on it', () => {
    const plugins = [
      plugin('io.containerd.grpc.v1', 'cri', 'unable to load CRI runtime service plugin dependency: boom'),
      plugin('io.containerd.cri.v1', 'images'),
      plugin('io.containerd.cri.v1', 'runtime', 'boom'),
    ];
    expect(criPluginProblem(plugins)).toBe('CRI plugin io.containerd.cri.v1 runtime failed to initialise: boom');
  });
  it('says so when no CRI plugin is loaded at all', () => {
    expect(criPluginProblem([plugin('io.containerd.snapshotter.v1', 'overlayfs')])).toMatch(
      /not loaded; is it in disabled_plugins\?/,
    );
  });
  it('finds no problem when every CRI plugin initialised', () => {
    expect(
      criPluginProblem([plugin('io.containerd.cri.v1', 'runtime'), plugin('io.containerd.grpc.v1', 'cri')]),
    ).toBeUndefined();
  });
});

describe('waiting for handlers', () => {
  it('keeps polling through an unanswering socket until the handlers appear', async () => {
    const clock = fakeClock();
    const down = () => {
      throw new GrpcError(14, 'connect ENOENT /run/containerd/containerd.sock');
    };
    const readiness = await waitForHandlers(
      scriptedProbe([down, down, () => READY]),
      ['runc', 'kata-qemu'],
      5_000,
      clock,
      silentLogger(),
      { intervalMs: 50 },
    );
    expect(readiness).toEqual({ ready: true, elapsedMs: 100, handlers: ['kata-qemu', 'runc'] });
    expect(clock.slept).toEqual([50, 50]);
  });

  it('stops at once on a CRI plugin init error, which no amount of waiting fixes', async () => {
    const unimplemented = () => {
      throw new GrpcError(12, 'unknown service runtime.v1.RuntimeService');
    };
    const readiness = await waitForHandlers(
      scriptedProbe([unimplemented], [{ type: 'io.containerd.grpc.v1', id: 'cri', initError: 'no runc' }]),
      ['runc'],
      5_000,
      fakeClock(),
      silentLogger(),
    );
    expect(readiness).toEqual({
      ready: false,
      elapsedMs: 0,
      kind: 'cri-plugin-failed',
      reason: 'CRI plugin io.containerd.grpc.v1 cri failed to initialise: no runc',
    });
  });

  it('waits out the deadline on a plugin error when asked to (a runtime that restarts itself)', async () => {
    const unimplemented = () => {
      throw new GrpcError(12, 'unknown service runtime.v1.RuntimeService');
    };
    const clock = fakeClock();
    const readiness = await waitForHandlers(
      scriptedProbe(
        [unimplemented, unimplemented, () => READY],
        [{ type: 'io.containerd.grpc.v1', id: 'cri', initError: 'no runc' }],
      ),
      ['runc'],
      5_000,
      clock,
      silentLogger(),
      {
        stopOnPluginError: false,
      },
    );
    expect(readiness.ready).toBe(true);
  });

  it('gives up when the next poll would pass the deadline', async () => {
    const clock = fakeClock();
    const readiness = await waitForHandlers(scriptedProbe([() => READY]), ['kata-clh'], 120, clock, silentLogger(), {
      intervalMs: 50,
    });
    expect(readiness).toMatchObject({ ready: false, kind: 'handlers-missing', elapsedMs: 100, missing: ['kata-clh'] });
    expect(clock.slept).toEqual([50, 50]);
  });
});
