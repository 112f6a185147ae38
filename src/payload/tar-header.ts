/** The kind of one tar member, as its typeflag says. Meta kinds carry a name or attributes for the next member. */
export type TarKind =
  | 'file'
  | 'hardlink'
  | 'symlink'
  | 'char-device'
  | 'block-device'
  | 'directory'
  | 'fifo'
  | 'pax'
  | 'pax-global'
  | 'gnu-long-name'
  | 'gnu-long-link'
  | 'other';

/** One 512-byte tar header, decoded. `name`/`linkName` may later be overridden by pax or GNU long names. */
export interface TarHeader {
  readonly name: string;
  readonly mode: number;
  readonly size: number;
  readonly mtime: number;
  readonly kind: TarKind;
  readonly typeflag: string;
  readonly linkName: string;
}

const KINDS: Readonly<Record<string, TarKind>> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'char-device',
  '4': 'block-device',
  '5': 'directory',
  '6': 'fifo',
  x: 'pax',
  g: 'pax-global',
  L: 'gnu-long-name',
  K: 'gnu-long-link',
};

function text(block: Buffer, start: number, length: number): string {
  const end = block.indexOf(0, start);
  return block.toString('utf8', start, end < 0 || end > start + length ? start + length : end);
}

/** Reads an octal field, or GNU's base-256 form (high bit set) used for sizes of 8 GiB and more. */
function numeric(block: Buffer, start: number, length: number): number {
  if ((block[start]! & 0x80) !== 0) {
    let value = 0;
    for (let i = start + 1; i < start + length; i += 1) value = value * 256 + block[i]!;
    return value;
  }
  const field = text(block, start, length).trim();
  if (field === '') return 0;
  if (!/^[0-7]+$/.test(field)) throw new Error(`bad octal field "${field}"`);
  return parseInt(field, 8);
}

/** True for the all-zero blocks that end an archive. */
export function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < 512; i += 1) if (block[i] !== 0) return false;
  return true;
}

/**
 * Decodes a header block, checking its checksum so a corrupt or non-tar stream is refused at the first
 * block instead of being unpacked as garbage. Handles POSIX ustar prefixes and GNU headers.
 */
export function parseHeader(block: Buffer): TarHeader {
  let sum = 0;
  for (let i = 0; i < 512; i += 1) sum += i >= 148 && i < 156 ? 32 : block[i]!;
  const stored = /^[0-7]{1,7}$/.test(text(block, 148, 8).trim()) ? parseInt(text(block, 148, 8).trim(), 8) : -1;
  if (stored !== sum) throw new Error('tar header checksum mismatch (not a tar stream, or corrupt)');
  const typeflag = String.fromCharCode(block[156]!);
  const magic = block.toString('latin1', 257, 263);
  let name = text(block, 0, 100);
  if (magic === 'ustar\0') {
    const prefix = text(block, 345, 155);
    if (prefix !== '') name = `${prefix}/${name}`;
  }
  return {
    name,
    mode: numeric(block, 100, 8),
    size: numeric(block, 124, 12),
    mtime: numeric(block, 136, 12),
    kind: KINDS[typeflag] ?? 'other',
    typeflag,
    linkName: text(block, 157, 100),
  };
}

/** Pax extended attributes that matter to us: path, linkpath, size, mtime. */
export function parsePax(data: Buffer): Map<string, string> {
  const records = new Map<string, string>();
  let offset = 0;
  while (offset < data.length) {
    const space = data.indexOf(0x20, offset);
    if (space < 0) break;
    const length = Number(data.toString('latin1', offset, space));
    if (!Number.isInteger(length) || length <= 0 || offset + length > data.length)
      throw new Error('malformed pax record');
    const record = data.toString('utf8', space + 1, offset + length - 1);
    const eq = record.indexOf('=');
    if (eq > 0) records.set(record.slice(0, eq), record.slice(eq + 1));
    offset += length;
  }
  return records;
}
