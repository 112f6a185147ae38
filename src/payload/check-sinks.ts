import { createHash, type Hash } from 'node:crypto';
import path from 'node:path';
import { badPayload } from './entry-policy.js';
import { fileSha256 } from './entry-ownership.js';
import type { SinkHost } from './file-sinks.js';
import { isCheckedExecutable, isKeptConfig } from './member-bytes.js';
import type { EntrySink } from './tar-parser.js';

/** A file in a dry run: hashed and read like fileSink (digest, ELF machine, kept configs), never written. */
export function validateSink(host: SinkHost, member: string, rel: string, duplicate: boolean, size: number): EntrySink {
  if (duplicate) return compareSink(host, member, rel);
  const hash = createHash('sha256');
  const keep = isKeptConfig(rel, size) ? ([] as Buffer[]) : undefined;
  let first = true;
  return {
    write: (chunk) => {
      if (first && isCheckedExecutable(rel)) host.readElf(rel, chunk);
      first = false;
      hash.update(chunk);
      keep?.push(Buffer.from(chunk));
    },
    end: () => {
      host.dryDigests.set(rel, hash.digest('hex'));
      if (keep !== undefined) host.keepConfig(rel, Buffer.concat(keep));
    },
  };
}

/**
 * A second copy of a file: hashed (here: duplicates are rare), not written, and refused unless its
 * bytes match the first copy's, read back from staging once those are all written.
 */
export function compareSink(host: SinkHost, member: string, rel: string): EntrySink {
  const hash: Hash = createHash('sha256');
  const conflict = () => badPayload(member, 'appears twice with different contents (conflicting duplicate)');
  return {
    write: (chunk) => void hash.update(chunk),
    end: () => {
      const node = host.index.nodes.get(rel);
      if (node?.kind !== 'file') throw conflict();
      const own = hash.digest('hex');
      const first = node.linkedFrom ?? rel;
      if (host.root === undefined) {
        if (host.dryDigests.get(first) !== own) throw conflict();
        return;
      }
      const root = host.root;
      host.track(
        Promise.resolve(host.completed.get(first)).then(() => {
          if (fileSha256(path.join(root, first)) !== own) throw conflict();
        }),
      );
    },
  };
}
