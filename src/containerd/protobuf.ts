/**
 * The little of the protobuf wire format containerd's replies need: varints, length-delimited fields
 * and maps of strings. Hand-written because we read four message types, not worth a codegen toolchain.
 */
export type ProtoField =
  | { readonly field: number; readonly wire: 0; readonly value: bigint }
  | { readonly field: number; readonly wire: 2; readonly value: Buffer };

function readVarint(buf: Buffer, offset: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  for (let pos = offset; pos < buf.length; pos++) {
    const byte = buf[pos]!;
    result |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [result, pos + 1];
    shift += 7n;
  }
  throw new Error('truncated protobuf varint');
}

/** Splits a message into its fields, skipping fixed-width ones we never read. */
export function decodeFields(buf: Buffer): ProtoField[] {
  const fields: ProtoField[] = [];
  let offset = 0;
  while (offset < buf.length) {
    const [key, afterKey] = readVarint(buf, offset);
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (wire === 0) {
      const [value, next] = readVarint(buf, afterKey);
      fields.push({ field, wire, value });
      offset = next;
    } else if (wire === 2) {
      const [length, start] = readVarint(buf, afterKey);
      const end = start + Number(length);
      if (end > buf.length) throw new Error('truncated protobuf field');
      fields.push({ field, wire, value: buf.subarray(start, end) });
      offset = end;
    } else if (wire === 1) offset = afterKey + 8;
    else if (wire === 5) offset = afterKey + 4;
    else throw new Error(`unsupported protobuf wire type ${wire}`);
  }
  return fields;
}

/** The first string in a field, or '' as protobuf's default. */
export function stringField(fields: readonly ProtoField[], field: number): string {
  const found = fields.find((candidate) => candidate.field === field && candidate.wire === 2);
  return found === undefined ? '' : (found.value as Buffer).toString('utf8');
}

/** Every length-delimited value of a repeated field. */
export function repeatedBytes(fields: readonly ProtoField[], field: number): Buffer[] {
  return fields
    .filter((candidate) => candidate.field === field && candidate.wire === 2)
    .map((candidate) => candidate.value as Buffer);
}

/** A `map<string,string>` field: repeated entries of {1: key, 2: value}. */
export function stringMap(fields: readonly ProtoField[], field: number): Map<string, string> {
  const map = new Map<string, string>();
  for (const entry of repeatedBytes(fields, field)) {
    const inner = decodeFields(entry);
    map.set(stringField(inner, 1), stringField(inner, 2));
  }
  return map;
}

function varint(value: number): Buffer {
  const bytes: number[] = [];
  let rest = value;
  while (rest > 0x7f) {
    bytes.push((rest & 0x7f) | 0x80);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

/** Encodes a bool field (e.g. CRI StatusRequest.verbose). */
export function encodeBool(field: number, value: boolean): Buffer {
  return value ? Buffer.concat([varint(field << 3), varint(1)]) : Buffer.alloc(0);
}

/** Encodes a string field (e.g. a repeated filter). */
export function encodeString(field: number, value: string): Buffer {
  return encodeBytes(field, Buffer.from(value, 'utf8'));
}

/** Encodes a length-delimited field: bytes, a string, or an embedded message already encoded. */
export function encodeBytes(field: number, value: Buffer | string): Buffer {
  const bytes = Buffer.from(value);
  return Buffer.concat([varint((field << 3) | 2), varint(bytes.length), bytes]);
}

/** Encodes a varint field (an enum or a non-negative integer), even when it is 0. */
export function encodeVarint(field: number, value: number): Buffer {
  return Buffer.concat([varint(field << 3), varint(value)]);
}

/** The first varint in a field (bools, enums, int32s), or 0 as protobuf's default. */
export function varintField(fields: readonly ProtoField[], field: number): number {
  const found = fields.find((candidate) => candidate.field === field && candidate.wire === 0);
  return found === undefined ? 0 : Number(found.value);
}
