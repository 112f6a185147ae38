import { describe, expect, it } from 'vitest';
import { decideRestart, type RestartInput } from '../../src/transaction/restart-decision.js';

const base: RestartInput = {
  mode: 'auto',
  runtimeRestarts: true,
  changedRuntimeFiles: [],
  recoveredRuntimeFiles: false,
  missingLiveHandlers: [],
};

describe('decideRestart', () => {
  it('does not restart when nothing the runtime reads changed, but still checks readiness', () => {
    expect(decideRestart(base)).toEqual({
      restart: false,
      reason: 'nothing the runtime reads changed',
      skipReadiness: false,
    });
  });

  it.each<[string, Partial<RestartInput>, RegExp]>([
    [
      'a config file changed',
      { changedRuntimeFiles: ['/etc/containerd/config.toml'] },
      /changed \/etc\/containerd\/config\.toml/,
    ],
    ['an interrupted run was rolled back', { recoveredRuntimeFiles: true }, /interrupted run was rolled back/],
    ['the live runtime lacks a handler', { missingLiveHandlers: ['kata-qemu'] }, /does not serve kata-qemu/],
  ])('restarts when %s', (_name, input, reason) => {
    const decision = decideRestart({ ...base, ...input });
    expect(decision.restart).toBe(true);
    expect(decision.reason).toMatch(reason);
  });

  it('never restarts with --restart none, says what it would have done, and skips readiness', () => {
    expect(
      decideRestart({ ...base, mode: 'none', changedRuntimeFiles: ['/etc/containerd/config.toml'] }),
    ).toMatchObject({ restart: false, skipReadiness: true, reason: expect.stringMatching(/would restart: changed/) });
    expect(decideRestart({ ...base, mode: 'none' })).toMatchObject({ restart: false, skipReadiness: true });
  });

  it('leaves a runtime that reloads by itself (k0s) alone but waits for its handlers', () => {
    expect(
      decideRestart({
        ...base,
        runtimeRestarts: false,
        changedRuntimeFiles: ['/etc/k0s/containerd.d/kata-deploy.toml'],
      }),
    ).toMatchObject({
      restart: false,
      skipReadiness: false,
      reason: expect.stringMatching(/reloads its drop-ins by itself/),
    });
  });
});

describe('decideRestart, exact decisions', () => {
  const config = '/etc/containerd/config.toml';
  const dropIn = '/etc/containerd/conf.d/kata-deploy.toml';

  it.each<[string, Partial<RestartInput>, ReturnType<typeof decideRestart>]>([
    [
      'every reason, in order, joined by "; "',
      { changedRuntimeFiles: [config, dropIn], recoveredRuntimeFiles: true, missingLiveHandlers: ['a', 'b'] },
      {
        restart: true,
        reason:
          `changed ${config}, ${dropIn}; an interrupted run was rolled back; ` + 'the live runtime does not serve a, b',
      },
    ],
    [
      'a live runtime that was not asked is no reason',
      { missingLiveHandlers: undefined },
      { restart: false, reason: 'nothing the runtime reads changed', skipReadiness: false },
    ],
    [
      'a live runtime that was not asked does not hide a changed file',
      { missingLiveHandlers: undefined, changedRuntimeFiles: [config] },
      { restart: true, reason: `changed ${config}` },
    ],
    [
      '--restart none with nothing changed skips readiness and says so',
      { mode: 'none' },
      {
        restart: false,
        reason: 'nothing the runtime reads changed (--restart none: readiness not checked)',
        skipReadiness: true,
      },
    ],
    [
      '--restart none with a change names what it would have restarted for',
      { mode: 'none', changedRuntimeFiles: [config], recoveredRuntimeFiles: true },
      {
        restart: false,
        reason:
          `--restart none (would restart: changed ${config}; an interrupted run was rolled back); ` +
          'restart the runtime yourself',
        skipReadiness: true,
      },
    ],
    [
      'a runtime that reloads by itself names the change and still waits for readiness',
      { runtimeRestarts: false, changedRuntimeFiles: [dropIn], recoveredRuntimeFiles: true },
      {
        restart: false,
        reason: `the runtime reloads its drop-ins by itself (changed ${dropIn}; an interrupted run was rolled back)`,
        skipReadiness: false,
      },
    ],
    [
      '--restart systemd restarts like auto',
      { mode: 'systemd', missingLiveHandlers: ['kata-qemu'] },
      { restart: true, reason: 'the live runtime does not serve kata-qemu' },
    ],
  ])('%s', (_name, input, expected) => {
    expect(decideRestart({ ...base, ...input })).toEqual(expected);
  });
});
