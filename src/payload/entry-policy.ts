import { KataDeployError } from '../core/errors.js';
import type { TarEntry } from './tar-parser.js';

/** Where every member of a kata-static tarball lives; the install dir is this tree's new home. */
export const PAYLOAD_ROOT = 'opt/kata';

/** Ceilings that stop a decompression bomb before it fills the disk; tests pass tiny ones. */
export interface PayloadLimits {
  readonly maxEntries: number;
  readonly maxTotalBytes: number;
  readonly maxFileBytes: number;
}

/** Generous for real releases (several GiB, a few thousand members), absurd for anything else. */
export const DEFAULT_LIMITS: PayloadLimits = Object.freeze({
  maxEntries: 200_000,
  maxTotalBytes: 64 * 1024 ** 3,
  maxFileBytes: 16 * 1024 ** 3,
});

/** A member we accept, with its path relative to the install dir (`bin/containerd-shim-kata-v2`). */
export type AcceptedEntry =
  | {
      readonly kind: 'file';
      readonly rel: string;
      readonly mode: number;
      readonly size: number;
      readonly mtime: number;
    }
  | { readonly kind: 'directory'; readonly rel: string; readonly mode: number }
  | { readonly kind: 'symlink'; readonly rel: string; readonly target: string }
  | { readonly kind: 'hardlink'; readonly rel: string; readonly targetRel: string };

/** The refusal every payload check raises: exit 4, naming the member. */
export function badPayload(
  member: string,
  problem: string,
  hint = 'use an unmodified kata-static release tarball',
): KataDeployError {
  return new KataDeployError('bad-payload', `payload member "${member}": ${problem}`, { hint });
}

/** Splits a member name into clean segments, refusing absolute names and `..` anywhere. */
function segments(member: string, name: string): string[] {
  if (name.startsWith('/')) throw badPayload(member, 'absolute path');
  const parts = name.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) throw badPayload(member, 'path contains ".."');
  return parts;
}

/** The member's path relative to the install dir, or undefined for `./`, `opt/` and `opt/kata/` themselves. */
export function relativeToInstallDir(member: string, name: string): string | undefined {
  const parts = segments(member, name);
  const root = PAYLOAD_ROOT.split('/');
  if (parts.every((part, i) => part === root[i])) return undefined;
  if (!root.every((part, i) => parts[i] === part)) throw badPayload(member, `outside ${PAYLOAD_ROOT}/`);
  return parts.slice(root.length).join('/');
}

/**
 * Judges one member on its own (the archive-wide checks live in PayloadIndex): kinds we never create
 * (devices, FIFOs, sparse or unknown members), setuid/setgid bits, absolute symlink targets. Returns
 * undefined for the directories above the install dir, which we do not own.
 */
export function judgeEntry(entry: TarEntry, limits: PayloadLimits): AcceptedEntry | undefined {
  const member = entry.name;
  const rel = relativeToInstallDir(member, entry.name);
  if (rel === undefined) {
    if (entry.kind === 'directory') return undefined;
    throw badPayload(member, `is a ${entry.kind}, but this path must be a directory`);
  }
  if ((entry.mode & 0o6000) !== 0)
    throw badPayload(member, `has the setuid/setgid bit (mode ${(entry.mode & 0o7777).toString(8)})`);
  switch (entry.kind) {
    case 'file':
      if (entry.size > limits.maxFileBytes) {
        throw badPayload(
          member,
          `is ${entry.size} bytes, more than the ${limits.maxFileBytes}-byte limit for one file (decompression bomb?)`,
        );
      }
      return { kind: 'file', rel, mode: entry.mode & 0o1777, size: entry.size, mtime: entry.mtime };
    case 'directory':
      return { kind: 'directory', rel, mode: entry.mode & 0o1777 };
    case 'symlink':
      if (entry.linkName === '') throw badPayload(member, 'symlink with an empty target');
      if (entry.linkName.startsWith('/'))
        throw badPayload(member, `symlink to absolute path "${entry.linkName}" escapes the install dir`);
      return { kind: 'symlink', rel, target: entry.linkName };
    case 'hardlink': {
      const targetRel = relativeToInstallDir(member, entry.linkName);
      if (targetRel === undefined) throw badPayload(member, `hardlink to "${entry.linkName}" escapes the install dir`);
      return { kind: 'hardlink', rel, targetRel };
    }
    case 'char-device':
    case 'block-device':
      throw badPayload(member, 'is a device node');
    case 'fifo':
      throw badPayload(member, 'is a FIFO');
    default:
      throw badPayload(member, `has tar type "${entry.typeflag}", which a kata payload never contains`);
  }
}
