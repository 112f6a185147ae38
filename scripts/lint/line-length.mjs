// Biome's formatter cannot split a long string or comment, so this finds every line it leaves over the limit.
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const LIMIT = 120;
const tracked = execFileSync('git', ['ls-files', '-co', '--exclude-standard', 'src', 'test', 'scripts'], {
  encoding: 'utf8',
});
const sources = tracked.split('\n').filter((file) => /\.(ts|mts|js|mjs)$/.test(file));
const offenders = sources.flatMap((file) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((line, index) => (line.length > LIMIT ? [`${file}:${index + 1}: ${line.length} characters`] : [])),
);
for (const offender of offenders) console.error(offender);
if (offenders.length > 0) {
  console.error(`${offenders.length} line(s) over ${LIMIT} characters: split the string or comment`);
  process.exit(1);
}
