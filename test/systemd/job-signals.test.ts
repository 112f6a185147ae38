import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/host/logger.js';
import type { DBusConnection, SignalListener } from '../../src/systemd/dbus-connection.js';
import { MessageType, type MethodCall } from '../../src/systemd/dbus-message.js';
import type { DBusValue } from '../../src/systemd/dbus-wire.js';
import { systemdOverConnection } from '../../src/systemd/systemd-client.js';

const UNIT_PROPS: [string, DBusValue][] = [
  ['LoadState', 'loaded'],
  ['ActiveState', 'active'],
  ['SubState', 'running'],
  ['InvocationID', Buffer.alloc(16, 0xab)],
];
const SERVICE_PROPS: [string, DBusValue][] = [
  ['Result', 'success'],
  ['ExecMainStatus', 0],
  ['MainPID', 42],
  ['NRestarts', 0],
  ['ExecMainStartTimestamp', 1_700_000_000_000_000n],
];

/**
 * A connection whose systemd emits the job's JobRemoved before RestartUnit's reply: ordering real
 * systemd does not produce on one connection, but nothing in the protocol forbids.
 */
function connectionWithEarlySignal(): DBusConnection & { calls: string[] } {
  const listeners = new Set<SignalListener>();
  const calls: string[] = [];
  const emit = (body: DBusValue[]) => {
    for (const listener of listeners)
      listener({
        type: MessageType.signal,
        serial: 1,
        interface: 'org.freedesktop.systemd1.Manager',
        member: 'JobRemoved',
        signature: 'uoss',
        body,
      });
  };
  return {
    calls,
    async call(call: MethodCall) {
      calls.push(call.member);
      if (call.member === 'RestartUnit') {
        emit([7, '/org/freedesktop/systemd1/job/6', 'other.service', 'failed']);
        emit([8, '/org/freedesktop/systemd1/job/8', 'containerd.service', 'done']);
        return ['/org/freedesktop/systemd1/job/8'];
      }
      if (call.member === 'LoadUnit') return ['/org/freedesktop/systemd1/unit/containerd_2eservice'];
      if (call.member === 'GetAll')
        return [call.args?.[0]?.value === 'org.freedesktop.systemd1.Unit' ? UNIT_PROPS : SERVICE_PROPS];
      return [];
    },
    onSignal(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {},
  };
}

describe('restart job signals', () => {
  it('takes a JobRemoved that arrived before the RestartUnit reply as the result of our job', async () => {
    const connection = connectionWithEarlySignal();
    const systemd = await systemdOverConnection(connection, silentLogger());
    const outcome = await systemd.restartUnit('containerd.service', 50);
    expect(outcome).toMatchObject({ job: '/org/freedesktop/systemd1/job/8', result: 'done' });
    expect(outcome.state).toMatchObject({
      activeState: 'active',
      mainPid: 42,
      invocationId: 'ab'.repeat(16),
      execMainStartTimestampUs: 1_700_000_000_000_000,
    });
    expect(connection.calls).toEqual(['Subscribe', 'RestartUnit', 'LoadUnit', 'GetAll', 'GetAll']);
  });
});
