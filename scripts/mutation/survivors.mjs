// Prints the score per mutated module and every surviving (or uncovered) mutant of the last Stryker run.
import { readFileSync } from 'node:fs';

const file = process.argv.slice(2).find((arg) => !arg.startsWith('--')) ?? '.cache/mutation/report.json';
const report = JSON.parse(readFileSync(file, 'utf8'));
const showAll = process.argv.includes('--survivors');
const rows = [];
for (const [file, { mutants, source }] of Object.entries(report.files)) {
  const lines = source.split('\n');
  const count = (...states) => mutants.filter((mutant) => states.includes(mutant.status)).length;
  const detected = count('Killed', 'Timeout');
  const valid = detected + count('Survived', 'NoCoverage');
  rows.push({ file, detected, valid, score: valid === 0 ? 100 : (100 * detected) / valid });
  if (!showAll) continue;
  for (const mutant of mutants.filter((m) => m.status === 'Survived' || m.status === 'NoCoverage')) {
    const { line, column } = mutant.location.start;
    const original = lines[line - 1]?.trim().slice(0, 100);
    console.log(`${file}:${line}:${column} ${mutant.status} ${mutant.mutatorName}: ${original}`);
    if (mutant.replacement !== undefined) console.log(`    → ${mutant.replacement.split('\n')[0].slice(0, 100)}`);
  }
}
console.log('| module | mutation score | detected / valid mutants |');
console.log('| --- | --- | --- |');
for (const row of rows) console.log(`| ${row.file} | ${row.score.toFixed(1)} % | ${row.detected} / ${row.valid} |`);
