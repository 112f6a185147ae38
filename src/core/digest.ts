import { createHash } from 'node:crypto';

/** Hex sha256 of some bytes: how the ledger, backups and records name file contents. */
export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
