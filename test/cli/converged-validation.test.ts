import { chmodSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { appendFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempRoot, type TempRoot } from '../helpers/temp-root.js';
import { onTempRoot } from '../helpers/temp-root-cli.js';

// A converged reinstall skips `containerd config dump` only when containerd's verdict is already known: the
// very bytes it accepted for the last install, read by the very same binary. Any edit, or another binary,
// and containerd runs again.

const CONFIG =
  'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n' +
  '  runtime_type = "io.containerd.runc.v2"\n';

let temp: TempRoot | undefined;
afterEach(async () => {
  await temp?.cleanup();
  temp = undefined;
});

/** A containerd that records each `config dump` it is asked for, then is the real one. */
function recordingContainerd(dir: string): { binary: string; dumps: () => number } {
  const binary = path.join(dir, 'containerd-recording');
  const log = path.join(dir, 'dumps.log');
  writeFileSync(log, '');
  writeFileSync(
    binary,
    `#!/bin/sh\ncase "$*" in *"config dump"*) echo dump >> ${log};; esac\nexec /usr/bin/containerd "$@"\n`,
  );
  chmodSync(binary, 0o755);
  return { binary, dumps: () => readFileSync(log, 'utf8').split('\n').filter(Boolean).length };
}

async function host() {
  temp = await makeTempRoot({ '/etc/containerd/config.toml': CONFIG, '/run/kata-deploy': { dir: true } });
  const containerd = recordingContainerd(path.dirname(temp.root));
  const install = async () => {
    const run = await onTempRoot(temp!.root, 'install', ['--containerd-binary', containerd.binary, '--json']);
    expect(run.code, run.stderr).toBe(0);
    return JSON.parse(run.stdout) as { payload: { changed: boolean }; changes: unknown[] };
  };
  return { containerd, install, config: path.join(temp.root, 'etc/containerd/config.toml') };
}

describe('containerd validation on a converged reinstall', () => {
  it('is skipped for the bytes and binary of the last install, and runs again after an edit', async () => {
    const { containerd, install, config } = await host();
    await install();
    const first = containerd.dumps();
    expect(first).toBeGreaterThan(0);

    const again = await install();
    expect(again.payload.changed).toBe(false);
    expect(again.changes).toEqual([]);
    expect(containerd.dumps()).toBe(first);

    await appendFile(config, '# an operator comment\n');
    await install();
    expect(containerd.dumps()).toBeGreaterThan(first);
    expect(await readFile(config, 'utf8')).toContain('# an operator comment');
  });

  it('runs again when the validating binary was replaced, even with the same bytes', async () => {
    const { containerd, install } = await host();
    await install();
    const first = containerd.dumps();
    utimesSync(containerd.binary, new Date(), new Date(Date.now() + 5000));
    await install();
    expect(containerd.dumps()).toBeGreaterThan(first);
  });
});
