// The regular files a kata-static payload puts under /opt/kata and their bytes, read by the host's tar (an
// independent reader).
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

/** The bytes of one payload file (`/opt/kata/...`), read by the host's tar as the listing is. */
export function payloadFile(payload: string, nodePath: string): Buffer {
  return execFileSync('sh', ['-c', 'zstd -dc "$1" | tar -xO "$2"', 'extract', payload, `.${nodePath}`], {
    maxBuffer: 256 << 20,
  });
}
