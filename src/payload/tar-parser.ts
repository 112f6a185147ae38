import { isZeroBlock, parseHeader, parsePax, type TarKind } from './tar-header.js';

/** One member after pax and GNU long names are applied: what the policy judges and the writer creates. */
export interface TarEntry {
  readonly name: string;
  readonly linkName: string;
  readonly mode: number;
  readonly size: number;
  readonly mtime: number;
  readonly kind: Exclude<TarKind, 'pax' | 'pax-global' | 'gnu-long-name' | 'gnu-long-link'>;
  readonly typeflag: string;
}

/** Where a member's bytes go; slices of the incoming chunks, never copied. */
export interface EntrySink {
  write(chunk: Buffer): void;
  end(): void;
}

const META_LIMIT = 1 << 20;

/**
 * A push parser for tar streams: feed it decompressed chunks, it calls `onEntry` per member and streams
 * the member's bytes to the returned sink. Synchronous and copy-free on the data path (node-tar's
 * per-entry streams and buffering are where its time went); memory stays at one chunk plus 512 bytes.
 */
export class TarParser {
  private pending: Buffer | undefined;
  private sink: EntrySink | undefined;
  private dataLeft = 0;
  private padLeft = 0;
  private meta: { kind: TarKind; chunks: Buffer[] } | undefined;
  private pax = new Map<string, string>();
  private longName: string | undefined;
  private longLink: string | undefined;
  private memberSize = 0;
  private zeroBlocks = 0;
  private done = false;

  constructor(private readonly onEntry: (entry: TarEntry) => EntrySink | undefined) {}

  /** True once the end-of-archive marker was read. */
  get ended(): boolean {
    return this.done;
  }

  push(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length && !this.done) {
      if (this.dataLeft > 0) {
        const n = Math.min(this.dataLeft, chunk.length - offset);
        const part = chunk.subarray(offset, offset + n);
        if (this.meta !== undefined) this.meta.chunks.push(Buffer.from(part));
        else this.sink?.write(part);
        this.dataLeft -= n;
        offset += n;
        if (this.dataLeft === 0) this.finishMember();
        continue;
      }
      if (this.padLeft > 0) {
        const n = Math.min(this.padLeft, chunk.length - offset);
        this.padLeft -= n;
        offset += n;
        continue;
      }
      const need = 512 - (this.pending?.length ?? 0);
      if (this.pending === undefined && chunk.length - offset >= 512) {
        this.header(chunk.subarray(offset, offset + 512));
        offset += 512;
      } else {
        const n = Math.min(need, chunk.length - offset);
        const piece = chunk.subarray(offset, offset + n);
        this.pending = this.pending === undefined ? Buffer.from(piece) : Buffer.concat([this.pending, piece]);
        offset += n;
        if (this.pending.length === 512) {
          const block = this.pending;
          this.pending = undefined;
          this.header(block);
        }
      }
    }
  }

  /** Call at end of input: a stream that stops inside a member or header is truncated. */
  finish(): void {
    if (this.dataLeft > 0 || this.pending !== undefined || this.meta !== undefined) {
      throw new Error('tar stream ends in the middle of a member (truncated archive)');
    }
    if (!this.done && this.zeroBlocks === 0)
      throw new Error('tar stream ends without an end-of-archive marker (truncated archive)');
  }

  private header(block: Buffer): void {
    if (isZeroBlock(block)) {
      this.zeroBlocks += 1;
      if (this.zeroBlocks === 2) this.done = true;
      return;
    }
    this.zeroBlocks = 0;
    const header = parseHeader(block);
    if (
      header.kind === 'pax' ||
      header.kind === 'pax-global' ||
      header.kind === 'gnu-long-name' ||
      header.kind === 'gnu-long-link'
    ) {
      if (header.size > META_LIMIT) throw new Error(`tar metadata member of ${header.size} bytes is too large`);
      this.meta = { kind: header.kind, chunks: [] };
      this.dataLeft = header.size;
      this.memberSize = header.size;
      if (header.size === 0) this.finishMember();
      return;
    }
    const size = this.pax.has('size') ? Number(this.pax.get('size')) : header.size;
    if (!Number.isSafeInteger(size) || size < 0) throw new Error(`member "${header.name}" has an invalid size`);
    const entry: TarEntry = {
      name: this.pax.get('path') ?? this.longName ?? header.name,
      linkName: this.pax.get('linkpath') ?? this.longLink ?? header.linkName,
      mode: header.mode,
      size: header.kind === 'file' ? size : 0,
      mtime: this.pax.has('mtime') ? Math.floor(Number(this.pax.get('mtime'))) : header.mtime,
      kind: header.kind,
      typeflag: header.typeflag,
    };
    this.pax = new Map();
    this.longName = undefined;
    this.longLink = undefined;
    this.sink = this.onEntry(entry);
    this.dataLeft = header.kind === 'file' ? size : header.size;
    this.memberSize = this.dataLeft;
    if (this.dataLeft === 0) this.finishMember();
  }

  private finishMember(): void {
    this.padLeft = (512 - (this.memberSize % 512)) % 512;
    if (this.meta !== undefined) {
      const data = Buffer.concat(this.meta.chunks);
      const clean = (value: Buffer): string => value.toString('utf8').replace(/\0+$/, '');
      if (this.meta.kind === 'pax') this.pax = parsePax(data);
      else if (this.meta.kind === 'gnu-long-name') this.longName = clean(data);
      else if (this.meta.kind === 'gnu-long-link') this.longLink = clean(data);
      this.meta = undefined;
      return;
    }
    const sink = this.sink;
    this.sink = undefined;
    sink?.end();
  }
}
