// The regular files a kata-static payload puts under /opt/kata, listed by the host's tar (an independent reader).
import { execFileSync } from 'node:child_process';

/** Node paths (`/opt/kata/...`) of the payload's regular files. */
export function payloadFiles(payload: string): Set<string> {
  const listing = execFileSync('sh', ['-c', 'zstd -dc "$1" | tar -tv', 'list', payload], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  const files = listing
    .split('\n')
    .filter((line) => line.startsWith('-'))
    .map((line) => line.slice(line.lastIndexOf(' ') + 1).replace(/^\.?\/?/, '/'));
  return new Set(files);
}
