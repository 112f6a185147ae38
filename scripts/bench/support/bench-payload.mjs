// The kata-static-shaped bench payloads, generated once by scripts/make-sample-payload.mjs and cached in
// .cache/bench, so every benchmark measures the same archive and none pays for making it.
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { makeSamplePayload } from '../../make-sample-payload.mjs';

const cache = path.resolve(import.meta.dirname, '../../../.cache/bench');

/** `600M` → bytes (K, M, G are powers of 1024). */
export function parseSize(text) {
  const match = /^(\d+)([KMG]?)$/i.exec(text);
  if (match === null) throw new Error(`bad size ${text}`);
  return Number(match[1]) * { '': 1, K: 1024, M: 1 << 20, G: 1 << 30 }[match[2].toUpperCase()];
}

/** Path of the cached `.tar.<compression>` of `size` bytes and `files` files; generated on first use. */
export function benchPayload(size, files, compression = 'zst') {
  const file = path.join(cache, `payload-${size}-${files}.tar.${compression}`);
  if (!existsSync(file)) {
    mkdirSync(cache, { recursive: true });
    console.log(`generating ${file} ...`);
    makeSamplePayload({ out: file, size: parseSize(size), files, compression });
  }
  return file;
}
