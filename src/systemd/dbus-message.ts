import { DBusReader, DBusWriter, type DBusArg, type DBusValue } from './dbus-wire.js';

/** The four D-Bus message types, by their wire numbers. */
export const MessageType = { methodCall: 1, methodReturn: 2, error: 3, signal: 4 } as const;

/** A message as it arrived: the header fields we route on and the decoded body. */
export interface DBusMessage {
  readonly type: number;
  readonly serial: number;
  readonly path?: string;
  readonly interface?: string;
  readonly member?: string;
  readonly errorName?: string;
  readonly replySerial?: number;
  readonly signature: string;
  readonly body: DBusValue[];
}

/** What a method call needs; no destination because a peer-to-peer connection has no bus to route. */
export interface MethodCall {
  readonly path: string;
  readonly interface: string;
  readonly member: string;
  readonly args?: readonly DBusArg[];
}

const FIELD = { path: 1, interface: 2, member: 3, errorName: 4, replySerial: 5, signature: 8 } as const;
const FIXED_HEADER = 16;

/** Encodes a method call as one little-endian D-Bus message. */
export function encodeMethodCall(call: MethodCall, serial: number): Buffer {
  const args = call.args ?? [];
  const body = new DBusWriter();
  for (const arg of args) body.arg(arg);
  const bodyBytes = body.toBuffer();
  const signature = args.map((arg) => arg.type).join('');

  const fields: [number, DBusArg][] = [
    [FIELD.path, { type: 'o', value: call.path }],
    [FIELD.interface, { type: 's', value: call.interface }],
    [FIELD.member, { type: 's', value: call.member }],
  ];
  if (signature !== '') fields.push([FIELD.signature, { type: 'g', value: signature }]);

  const header = new DBusWriter(0);
  header.push(Buffer.from([0x6c, MessageType.methodCall, 0, 1]));
  header.uint32(bodyBytes.length);
  header.uint32(serial);
  const fieldWriter = new DBusWriter(FIXED_HEADER);
  for (const [code, value] of fields) {
    fieldWriter.pad(8);
    fieldWriter.uint8(code);
    fieldWriter.variant(value);
  }
  const fieldBytes = fieldWriter.toBuffer();
  header.uint32(fieldBytes.length);
  header.push(fieldBytes);
  header.pad(8);
  return Buffer.concat([header.toBuffer(), bodyBytes]);
}

/**
 * The length of the first complete message in `buf`, or undefined while more bytes are needed.
 * Messages arrive split and coalesced arbitrarily on a stream socket.
 */
export function messageLength(buf: Buffer): number | undefined {
  if (buf.length < FIXED_HEADER) return undefined;
  const le = buf[0] === 0x6c;
  const bodyLength = le ? buf.readUInt32LE(4) : buf.readUInt32BE(4);
  const fieldsLength = le ? buf.readUInt32LE(12) : buf.readUInt32BE(12);
  const headerEnd = FIXED_HEADER + fieldsLength + ((8 - ((FIXED_HEADER + fieldsLength) % 8)) % 8);
  const total = headerEnd + bodyLength;
  return buf.length >= total ? total : undefined;
}

/** Decodes one complete message (as delimited by messageLength). */
export function decodeMessage(buf: Buffer): DBusMessage {
  const endian = buf[0];
  if (endian !== 0x6c && endian !== 0x42)
    throw new Error(`D-Bus message with unknown byte order 0x${endian?.toString(16)}`);
  const reader = new DBusReader(buf, 4, endian === 0x6c);
  const type = buf[1]!;
  reader.read('u');
  const serial = reader.read('u') as number;
  const fields = new Map<number, DBusValue>();
  for (const entry of reader.read('a(yv)') as DBusValue[][]) fields.set(entry[0] as number, entry[1]!);
  reader.align(8);
  const signature = (fields.get(FIELD.signature) as string | undefined) ?? '';
  const body = signature === '' ? [] : reader.readAll(signature);
  const text = (code: number): string | undefined => fields.get(code) as string | undefined;
  return {
    type,
    serial,
    path: text(FIELD.path),
    interface: text(FIELD.interface),
    member: text(FIELD.member),
    errorName: text(FIELD.errorName),
    replySerial: fields.get(FIELD.replySerial) as number | undefined,
    signature,
    body,
  };
}
