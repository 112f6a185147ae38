import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMethodCall, messageLength, MessageType } from '../../src/systemd/dbus-message.js';
import { DBusReader, splitSignature } from '../../src/systemd/dbus-wire.js';

describe('D-Bus wire format', () => {
  it('splits signatures into complete types, containers included', () => {
    expect(splitSignature('uoss')).toEqual(['u', 'o', 's', 's']);
    expect(splitSignature('a{sv}sa(yv)ay')).toEqual(['a{sv}', 's', 'a(yv)', 'ay']);
    expect(() => splitSignature('a')).toThrow(/ends inside a type/);
    expect(() => splitSignature('z')).toThrow(/unsupported D-Bus type "z"/);
  });

  it('decodes a method call it encoded, with the padding between header fields and body', () => {
    const bytes = encodeMethodCall(
      {
        path: '/org/freedesktop/systemd1',
        interface: 'org.freedesktop.systemd1.Manager',
        member: 'KillUnit',
        args: [
          { type: 's', value: 'crio.service' },
          { type: 's', value: 'main' },
          { type: 'i', value: -1 },
        ],
      },
      7,
    );
    expect(messageLength(bytes)).toBe(bytes.length);
    expect(messageLength(bytes.subarray(0, bytes.length - 1))).toBeUndefined();
    expect(messageLength(bytes.subarray(0, 10))).toBeUndefined();
    expect(decodeMessage(bytes)).toMatchObject({
      type: MessageType.methodCall,
      serial: 7,
      path: '/org/freedesktop/systemd1',
      member: 'KillUnit',
      signature: 'ssi',
      body: ['crio.service', 'main', -1],
    });
  });

  it('reads dictionaries of variants the way Properties.GetAll returns them', () => {
    // a{sv} {"ActiveState": <"active">, "NRestarts": <uint32 3>}: length, padding to 8, 8-aligned entries.
    const bytes = Buffer.alloc(64);
    let pos = 8;
    const text = (value: string) => {
      pos = bytes.writeUInt32LE(Buffer.byteLength(value), (pos + 3) & ~3);
      pos += bytes.write(`${value}\0`, pos);
    };
    const variantSignature = (type: string) => {
      bytes[pos++] = 1;
      pos += bytes.write(`${type}\0`, pos);
    };
    text('ActiveState');
    variantSignature('s');
    text('active');
    pos = (pos + 7) & ~7;
    text('NRestarts');
    variantSignature('u');
    pos = bytes.writeUInt32LE(3, (pos + 3) & ~3);
    bytes.writeUInt32LE(pos - 8, 0);
    expect(new DBusReader(bytes.subarray(0, pos)).read('a{sv}')).toEqual([
      ['ActiveState', 'active'],
      ['NRestarts', 3],
    ]);
  });
});
