import type { HostFs } from '../host/host-fs.js';

/** Splits an `Environment=` value into its assignments, honouring double and single quotes. */
export function environmentAssignments(value: string): string[] {
  const out: string[] = [];
  let current = '';
  let quote: string | undefined;
  let started = false;
  for (const char of value) {
    if (quote !== undefined) {
      if (char === quote) quote = undefined;
      else current += char;
    } else if (char === '"' || char === "'") {
      quote = char;
      started = true;
    } else if (/\s/.test(char)) {
      if (started) out.push(current);
      current = '';
      started = false;
    } else {
      current += char;
      started = true;
    }
  }
  if (started) out.push(current);
  return out;
}

/**
 * The PATH a unit sets with `Environment=` in its files, later files and lines winning as systemd applies
 * them (the unit, then its drop-ins in name order); undefined when none sets it. An empty `Environment=`
 * resets what came before.
 */
export function pathFromUnitFiles(texts: readonly string[]): string[] | undefined {
  let found: string[] | undefined;
  for (const text of texts) {
    let section = '';
    for (const raw of text.split('\n')) {
      const line = raw.trim();
      if (line.startsWith('[')) section = line;
      if (section !== '[Service]' || !line.startsWith('Environment=')) continue;
      const value = line.slice('Environment='.length);
      if (value.trim() === '') found = undefined;
      for (const assignment of environmentAssignments(value)) {
        if (assignment.startsWith('PATH=')) found = assignment.slice('PATH='.length).split(':');
      }
    }
  }
  return found;
}

const UNIT_DIRS = ['/etc/systemd/system', '/run/systemd/system', '/lib/systemd/system', '/usr/lib/systemd/system'];

/** Reads a unit's PATH from its unit file and drop-ins under the host root (systemd's search order). */
export async function unitFilePath(fs: HostFs, unit: string): Promise<{ path: string[]; source: string } | undefined> {
  const texts: string[] = [];
  const sources: string[] = [];
  for (const dir of UNIT_DIRS) {
    const text = await fs.readIfExists(`${dir}/${unit}`).catch(() => undefined);
    if (text === undefined) continue;
    texts.push(text.toString('utf8'));
    sources.push(`${dir}/${unit}`);
    break;
  }
  for (const dir of UNIT_DIRS) {
    const names = await fs.readdir(`${dir}/${unit}.d`).catch(() => [] as string[]);
    for (const name of names.filter((entry) => entry.endsWith('.conf')).sort()) {
      const text = await fs.readIfExists(`${dir}/${unit}.d/${name}`).catch(() => undefined);
      if (text === undefined) continue;
      texts.push(text.toString('utf8'));
      sources.push(`${dir}/${unit}.d/${name}`);
    }
  }
  const found = pathFromUnitFiles(texts);
  return found === undefined ? undefined : { path: found, source: sources.join(', ') };
}
