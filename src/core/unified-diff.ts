import { createTwoFilesPatch } from 'diff';
import type { FileChange } from './file-change.js';

function asText(bytes: Buffer | undefined): string {
  if (bytes === undefined) return '';
  if (bytes.includes(0)) return `<binary, ${bytes.length} bytes>\n`;
  return bytes.toString('utf8');
}

/**
 * A unified diff of one planned change, as `--dry-run` prints it: `/dev/null` stands for an absent
 * file, so creations and deletions read the way `git diff` shows them.
 */
export function unifiedDiff(change: FileChange): string {
  const from = change.before === undefined ? '/dev/null' : `a${change.path}`;
  const to = change.after === undefined ? '/dev/null' : `b${change.path}`;
  return createTwoFilesPatch(from, to, asText(change.before), asText(change.after), undefined, undefined, {
    context: 3,
  }).replace(/^=+\n/, '');
}
