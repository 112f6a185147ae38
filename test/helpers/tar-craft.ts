import { execFileSync } from 'node:child_process';

/** One member of a hand-made tar archive; anything a hostile archive could contain. */
export interface CraftEntry {
  readonly name: string;
  readonly type?: 'file' | 'dir' | 'symlink' | 'hardlink' | 'fifo' | 'char' | 'block';
  readonly body?: string | Buffer;
  readonly mode?: number;
  readonly linkName?: string;
  /** Declared size when it should differ from the body (a truncated member). */
  readonly size?: number;
}

const TYPEFLAG = { file: '0', hardlink: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6' } as const;

function octal(value: number, length: number): string {
  return `${value.toString(8).padStart(length - 1, '0')}\0`;
}

function header(name: string, typeflag: string, size: number, mode: number, linkName: string): Buffer {
  const block = Buffer.alloc(512);
  block.write(name, 0, 100, 'utf8');
  block.write(octal(mode, 8), 100, 'latin1');
  block.write(octal(0, 8), 108, 'latin1');
  block.write(octal(0, 8), 116, 'latin1');
  block.write(octal(size, 12), 124, 'latin1');
  block.write(octal(1_700_000_000, 12), 136, 'latin1');
  block.write('        ', 148, 'latin1');
  block.write(typeflag, 156, 'latin1');
  block.write(linkName, 157, 100, 'utf8');
  block.write('ustar\0', 257, 'latin1');
  block.write('00', 263, 'latin1');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return block;
}

function padded(data: Buffer): Buffer {
  return Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = body.length + 1;
  while (`${length}${body}`.length !== length) length = `${length}${body}`.length;
  return `${length}${body}`;
}

/**
 * Builds a POSIX tar archive byte by byte, so tests can produce members GNU tar refuses to write
 * (`..`, absolute names, escaping links, conflicting duplicates). Long names go into pax headers.
 */
export function craftTar(entries: readonly CraftEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const type = entry.type ?? 'file';
    const body = Buffer.from(entry.body ?? '');
    const mode = entry.mode ?? (type === 'dir' ? 0o755 : 0o644);
    const linkName = entry.linkName ?? '';
    if (Buffer.byteLength(entry.name) > 100 || Buffer.byteLength(linkName) > 100) {
      const pax = Buffer.from(paxRecord('path', entry.name) + (linkName === '' ? '' : paxRecord('linkpath', linkName)));
      blocks.push(header('PaxHeader', 'x', pax.length, 0o644, ''), padded(pax));
    }
    const size = entry.size ?? (type === 'file' ? body.length : 0);
    blocks.push(header(entry.name.slice(0, 100), TYPEFLAG[type], size, mode, linkName.slice(0, 100)));
    if (type === 'file') blocks.push(padded(body));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/** Compresses with the real host program, as release tarballs are. */
export function compress(tar: Buffer, format: 'tar' | 'gz' | 'xz' | 'zst'): Buffer {
  if (format === 'tar') return tar;
  const [program, args] = { gz: ['gzip', ['-c', '-1']], xz: ['xz', ['-c', '-1']], zst: ['zstd', ['-c', '-q', '-3']] }[
    format
  ] as [string, string[]];
  return execFileSync(program, args, { input: tar, maxBuffer: 1 << 30 });
}

/** An ELF header for an arch, followed by filler: enough for the arch check to read. */
export function fakeElf(machine: number, size = 4096): Buffer {
  const data = Buffer.alloc(size, 0x90);
  data.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  data.writeUInt16LE(2, 16);
  data.writeUInt16LE(machine, 18);
  return data;
}

export const ELF_X86_64 = 0x3e;
export const ELF_AARCH64 = 0xb7;
