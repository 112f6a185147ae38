import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempRoot, type TempRoot } from '../helpers/temp-root.js';
import { onTempRoot } from '../helpers/temp-root-cli.js';
import { snapshotTree } from '../helpers/tree-snapshot.js';

const CONFIG = 'version = 2\n\n[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "registry.k8s.io/pause:3.9"\n';
const EDIT = '# added by config management\n';

let temp: TempRoot | undefined;
let bin: string | undefined;
afterEach(async () => {
  await temp?.cleanup();
  temp = undefined;
  if (bin !== undefined) rmSync(bin, { recursive: true, force: true });
  bin = undefined;
});

/**
 * The host's containerd, wrapped so that its first `config dump` of a candidate with our handlers (install's
 * validation of the changed config, after it read and planned config.toml; the current config is checked
 * earlier, while the payload unpacks) also appends a line to config.toml: config management writing the file
 * inside the window between our read and our write, every time instead of 3 in 10.
 */
function editingContainerd(configFile: string): string {
  bin = mkdtempSync(path.join(tmpdir(), 'kata-editing-containerd-'));
  const marker = path.join(bin, 'edited');
  const wrapper = path.join(bin, 'containerd');
  writeFileSync(
    wrapper,
    [
      '#!/bin/sh',
      `edit() { [ -e ${marker} ] || { printf '${EDIT.trim()}\\n' >> ${configFile}; : > ${marker}; }; }`,
      'case "$*" in *"config dump"*) grep -rqs kata-qemu "$(dirname "$2")" && edit;; esac',
      'exec /usr/bin/containerd "$@"',
      '',
    ].join('\n'),
  );
  chmodSync(wrapper, 0o755);
  return wrapper;
}

describe('an edit to config.toml while install runs', () => {
  it('is never overwritten: install refuses with exit 5, rolls its own changes back, and the edit stands', async () => {
    temp = await makeTempRoot({ '/etc/containerd/config.toml': CONFIG, '/run/lock': { dir: true } });
    const configFile = path.join(temp.root, 'etc/containerd/config.toml');
    const before = await snapshotTree(temp.root);
    const run = await onTempRoot(temp.root, 'install', ['--containerd-binary', editingContainerd(configFile)]);
    expect(run.code, run.stderr).toBe(5);
    expect(run.stderr).toContain('/etc/containerd/config.toml changed while kata-deploy was installing');
    expect(readFileSync(configFile, 'utf8')).toBe(`${CONFIG}${EDIT}`);
    const after = await snapshotTree(temp.root);
    // The host lock (a root-only dir and its file) is the one thing a run leaves: /run is cleared at boot.
    delete after['run/kata-deploy'];
    delete after['run/kata-deploy/lock'];
    expect(Object.keys(after).sort()).toEqual(Object.keys(before).sort());
  });
});
