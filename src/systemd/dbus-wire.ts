/**
 * The D-Bus marshalling format, as far as systemd's Manager API needs it: basic types, arrays, structs,
 * dict entries and variants. Hand-written because the only Node D-Bus library always sends `Hello`,
 * which systemd's peer-to-peer private socket rejects (shared/TESTBED.md).
 */

/** A decoded D-Bus value: numbers for 32-bit and smaller integers, bigint for 64-bit, Buffer for `ay`. */
export type DBusValue = string | number | bigint | boolean | Buffer | DBusValue[];

/** A value to encode, tagged with its single complete type (only the types our calls send). */
export type DBusArg =
  | { readonly type: 's' | 'o' | 'g'; readonly value: string }
  | { readonly type: 'u' | 'i' | 'y'; readonly value: number };

const ALIGN: Readonly<Record<string, number>> = {
  y: 1,
  b: 4,
  n: 2,
  q: 2,
  i: 4,
  u: 4,
  x: 8,
  t: 8,
  d: 8,
  s: 4,
  o: 4,
  g: 1,
  a: 4,
  '(': 8,
  '{': 8,
  v: 1,
  h: 4,
};

/** Splits a signature into its single complete types (`"uoss"` → `["u","o","s","s"]`). */
export function splitSignature(signature: string): string[] {
  const types: string[] = [];
  let pos = 0;
  while (pos < signature.length) {
    const end = completeTypeEnd(signature, pos);
    types.push(signature.slice(pos, end));
    pos = end;
  }
  return types;
}

function completeTypeEnd(signature: string, start: number): number {
  const first = signature[start];
  if (first === undefined) throw new Error(`D-Bus signature "${signature}" ends inside a type`);
  if (first === 'a') return completeTypeEnd(signature, start + 1);
  if (first === '(' || first === '{') {
    const close = first === '(' ? ')' : '}';
    let pos = start + 1;
    while (signature[pos] !== close) pos = completeTypeEnd(signature, pos);
    return pos + 1;
  }
  if (!(first in ALIGN)) throw new Error(`unsupported D-Bus type "${first}" in signature "${signature}"`);
  return start + 1;
}

/** Appends values with D-Bus alignment; offsets count from the start of the message. */
export class DBusWriter {
  private readonly chunks: Buffer[] = [];
  private length: number;

  constructor(startOffset = 0) {
    this.length = startOffset;
  }

  get offset(): number {
    return this.length;
  }

  pad(alignment: number): void {
    const padding = (alignment - (this.length % alignment)) % alignment;
    if (padding > 0) this.push(Buffer.alloc(padding));
  }

  push(bytes: Buffer): void {
    this.chunks.push(bytes);
    this.length += bytes.length;
  }

  uint8(value: number): void {
    this.push(Buffer.from([value]));
  }

  uint32(value: number): void {
    this.pad(4);
    const bytes = Buffer.alloc(4);
    bytes.writeUInt32LE(value >>> 0);
    this.push(bytes);
  }

  int32(value: number): void {
    this.pad(4);
    const bytes = Buffer.alloc(4);
    bytes.writeInt32LE(value);
    this.push(bytes);
  }

  string(value: string): void {
    const bytes = Buffer.from(value, 'utf8');
    this.uint32(bytes.length);
    this.push(Buffer.concat([bytes, Buffer.alloc(1)]));
  }

  signature(value: string): void {
    const bytes = Buffer.from(value, 'ascii');
    this.uint8(bytes.length);
    this.push(Buffer.concat([bytes, Buffer.alloc(1)]));
  }

  arg(arg: DBusArg): void {
    switch (arg.type) {
      case 's':
      case 'o':
        this.string(arg.value);
        return;
      case 'g':
        this.signature(arg.value);
        return;
      case 'u':
        this.uint32(arg.value);
        return;
      case 'i':
        this.int32(arg.value);
        return;
      case 'y':
        this.uint8(arg.value);
        return;
    }
  }

  variant(arg: DBusArg): void {
    this.signature(arg.type);
    this.arg(arg);
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** Reads values of any supported signature from a whole message (`buf[0]` is its first byte, for alignment). */
export class DBusReader {
  private pos: number;

  constructor(
    private readonly buf: Buffer,
    start = 0,
    private readonly littleEndian = true,
  ) {
    this.pos = start;
  }

  get offset(): number {
    return this.pos;
  }

  align(alignment: number): void {
    this.pos += (alignment - (this.pos % alignment)) % alignment;
  }

  private need(bytes: number): void {
    if (this.pos + bytes > this.buf.length) throw new Error('truncated D-Bus message');
  }

  /** Reads one value per complete type of `signature`. */
  readAll(signature: string): DBusValue[] {
    return splitSignature(signature).map((type) => this.read(type));
  }

  read(type: string): DBusValue {
    this.align(ALIGN[type[0]!] ?? 1);
    const le = this.littleEndian;
    switch (type[0]) {
      case 'y':
        this.need(1);
        return this.buf[this.pos++]!;
      case 'b':
        return this.fixed(4, () => (le ? this.buf.readUInt32LE(this.pos) : this.buf.readUInt32BE(this.pos)) !== 0);
      case 'n':
        return this.fixed(2, () => (le ? this.buf.readInt16LE(this.pos) : this.buf.readInt16BE(this.pos)));
      case 'q':
        return this.fixed(2, () => (le ? this.buf.readUInt16LE(this.pos) : this.buf.readUInt16BE(this.pos)));
      case 'i':
        return this.fixed(4, () => (le ? this.buf.readInt32LE(this.pos) : this.buf.readInt32BE(this.pos)));
      case 'u':
      case 'h':
        return this.fixed(4, () => (le ? this.buf.readUInt32LE(this.pos) : this.buf.readUInt32BE(this.pos)));
      case 'x':
        return this.fixed(8, () => (le ? this.buf.readBigInt64LE(this.pos) : this.buf.readBigInt64BE(this.pos)));
      case 't':
        return this.fixed(8, () => (le ? this.buf.readBigUInt64LE(this.pos) : this.buf.readBigUInt64BE(this.pos)));
      case 'd':
        return this.fixed(8, () => (le ? this.buf.readDoubleLE(this.pos) : this.buf.readDoubleBE(this.pos)));
      case 's':
      case 'o':
        return this.text(this.read('u') as number);
      case 'g':
        return this.text(this.read('y') as number);
      case 'v':
        return this.read(this.read('g') as string);
      case '(':
      case '{':
        return splitSignature(type.slice(1, -1)).map((member) => this.read(member));
      case 'a':
        return this.array(type.slice(1));
      default:
        throw new Error(`unsupported D-Bus type "${type}"`);
    }
  }

  private fixed<T>(size: number, read: () => T): T {
    this.need(size);
    const value = read();
    this.pos += size;
    return value;
  }

  private text(length: number): string {
    this.need(length + 1);
    const value = this.buf.toString('utf8', this.pos, this.pos + length);
    this.pos += length + 1;
    return value;
  }

  private array(element: string): DBusValue {
    const length = this.read('u') as number;
    this.align(ALIGN[element[0]!] ?? 1);
    const end = this.pos + length;
    this.need(length);
    if (element === 'y') {
      const bytes = Buffer.from(this.buf.subarray(this.pos, end));
      this.pos = end;
      return bytes;
    }
    const items: DBusValue[] = [];
    while (this.pos < end) items.push(this.read(element));
    return items;
  }
}
