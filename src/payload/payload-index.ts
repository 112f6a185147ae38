import path from 'node:path';
import { badPayload, type AcceptedEntry, type PayloadLimits } from './entry-policy.js';

/** What the index knows about one path in the new tree. */
export type IndexedNode =
  | {
      readonly kind: 'file';
      readonly mode: number;
      size: number;
      mtime: number;
      readonly linkedFrom?: string;
    }
  | { readonly kind: 'directory'; mode: number; explicit: boolean }
  | { readonly kind: 'symlink'; readonly target: string };

/** What the writer must do with an accepted member after the archive-wide checks. */
export type Placement = 'create' | 'skip' | 'compare-file';

const MAX_LINK_HOPS = 40;

/**
 * The archive-wide checks, kept as pure state: entry count and byte ceilings, duplicates that
 * disagree, members written through an earlier symlink or under a file, hardlinks to anything but an
 * earlier file, and (once every symlink is known) targets that escape the install dir.
 */
export class PayloadIndex {
  readonly nodes = new Map<string, IndexedNode>();
  private entries = 0;
  private bytes = 0;

  constructor(private readonly limits: PayloadLimits) {}

  /** Records a member; says whether the writer creates it, skips it (identical duplicate) or must compare. */
  place(member: string, entry: AcceptedEntry): Placement {
    this.entries += 1;
    if (this.entries > this.limits.maxEntries) {
      throw badPayload(member, `more than ${this.limits.maxEntries} members (decompression bomb?)`);
    }
    if (entry.kind === 'file') {
      this.bytes += entry.size;
      if (this.bytes > this.limits.maxTotalBytes) {
        throw badPayload(
          member,
          `payload unpacks to more than ${this.limits.maxTotalBytes} bytes (decompression bomb?)`,
        );
      }
    }
    this.checkParents(member, entry.rel);
    const existing = this.nodes.get(entry.rel);
    if (existing !== undefined) return this.duplicate(member, entry, existing);
    if (entry.kind === 'file')
      this.nodes.set(entry.rel, { kind: 'file', mode: entry.mode, size: entry.size, mtime: entry.mtime });
    else if (entry.kind === 'directory')
      this.nodes.set(entry.rel, { kind: 'directory', mode: entry.mode, explicit: true });
    else if (entry.kind === 'symlink') this.nodes.set(entry.rel, { kind: 'symlink', target: entry.target });
    else {
      const target = this.nodes.get(entry.targetRel);
      if (target?.kind !== 'file')
        throw badPayload(
          member,
          `hardlink to "${entry.targetRel}", which is not an earlier regular file of this payload`,
        );
      this.nodes.set(entry.rel, { ...target, linkedFrom: entry.targetRel });
    }
    return 'create';
  }

  private checkParents(member: string, rel: string): void {
    let parent = path.posix.dirname(rel);
    while (parent !== '.') {
      const node = this.nodes.get(parent);
      if (node?.kind === 'symlink')
        throw badPayload(
          member,
          `is written through the symlink "${parent}"`,
          'a payload must not place files under its own symlinks',
        );
      if (node?.kind === 'file') throw badPayload(member, `is placed under "${parent}", which is a file`);
      if (node === undefined) this.nodes.set(parent, { kind: 'directory', mode: 0o755, explicit: false });
      parent = path.posix.dirname(parent);
    }
  }

  private duplicate(member: string, entry: AcceptedEntry, existing: IndexedNode): Placement {
    const conflict = (): never => {
      throw badPayload(member, 'appears twice with different contents (conflicting duplicate)');
    };
    if (entry.kind === 'directory' && existing.kind === 'directory') {
      if (existing.explicit && existing.mode !== entry.mode) conflict();
      existing.mode = entry.mode;
      existing.explicit = true;
      return 'create';
    }
    if (entry.kind === 'symlink' && existing.kind === 'symlink')
      return existing.target === entry.target ? 'skip' : conflict();
    if (entry.kind === 'file' && existing.kind === 'file')
      return existing.size === entry.size && existing.mode === entry.mode ? 'compare-file' : conflict();
    if (entry.kind === 'hardlink' && existing.kind === 'file' && existing.linkedFrom === entry.targetRel) return 'skip';
    return conflict();
  }

  /**
   * Resolves every symlink the way the kernel would, through the other symlinks of the payload, and
   * refuses one that leaves the install dir. Done after the last member: a later symlink can change
   * where an earlier one leads.
   */
  checkLinks(): void {
    for (const [rel, node] of this.nodes) {
      if (node.kind === 'symlink') this.follow(rel, node.target);
    }
  }

  /** Where a path of the new tree finally leads (through its symlinks), relative to the install dir. */
  resolve(rel: string): string {
    const node = this.nodes.get(rel);
    return node?.kind === 'symlink' ? this.follow(rel, node.target) : rel;
  }

  private follow(rel: string, firstTarget: string): string {
    let hops = 0;
    const stack = path.posix.dirname(rel) === '.' ? [] : path.posix.dirname(rel).split('/');
    const pending = firstTarget.split('/');
    while (pending.length > 0) {
      const part = pending.shift()!;
      if (part === '' || part === '.') continue;
      if (part === '..') {
        if (stack.length === 0)
          throw badPayload(`opt/kata/${rel}`, `symlink to "${firstTarget}" escapes the install dir`);
        stack.pop();
        continue;
      }
      stack.push(part);
      const node = this.nodes.get(stack.join('/'));
      if (node?.kind !== 'symlink') continue;
      if (++hops > MAX_LINK_HOPS) throw badPayload(`opt/kata/${rel}`, 'symlink loop');
      stack.pop();
      pending.unshift(...node.target.split('/'));
    }
    return stack.join('/');
  }
}
