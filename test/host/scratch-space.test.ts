import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { chmod } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { containerdValidator } from '../../src/containerd/config/validator.js';
import { STATE_ROOT } from '../../src/core/paths.js';
import { childProcessRunner } from '../../src/host/command-runner.js';
import { NodeHostFs } from '../../src/host/node-host-fs.js';
import { installerScratch, SCRATCH_PREFIX } from '../../src/host/scratch-space.js';
import { makeTempRoot, type TempRoot } from '../helpers/temp-root.js';
import { snapshotTree } from '../helpers/tree-snapshot.js';

let temp: TempRoot | undefined;
afterEach(async () => {
  await temp?.cleanup();
  temp = undefined;
});

/** Holds a flock on `dir` from another process (util-linux flock(1)) until killed, as a live run does. */
async function holdLock(dir: string): Promise<{ stop(): void }> {
  const child = spawn('flock', ['--exclusive', dir, 'sh', '-c', 'echo held; exec sleep 600'], { stdio: 'pipe' });
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`flock exited with ${code}`)));
  });
  return { stop: () => child.kill('SIGKILL') };
}

describe('the installer scratch space', () => {
  it('gives each run a 0700 dir under /var/lib/kata-deploy and leaves a fresh host as it was', async () => {
    temp = await makeTempRoot({ '/etc/hostname': 'node\n' });
    const before = await snapshotTree(temp.root);
    const scratch = installerScratch(new NodeHostFs(temp.root), STATE_ROOT);
    const dir = await scratch.open();
    expect(path.dirname(dir.path)).toBe(path.join(temp.root, STATE_ROOT));
    expect(path.basename(dir.path)).toMatch(new RegExp(`^${SCRATCH_PREFIX.replace('.', '\\.')}\\w{6}$`));
    expect(statSync(dir.path).mode & 0o7777).toBe(0o700);
    await dir.release();
    expect(await snapshotTree(temp.root), 'the dirs it created on the way are gone too').toEqual(before);
  });

  it('removes the dirs it created once the last of overlapping scratch dirs is released', async () => {
    temp = await makeTempRoot({ '/etc/hostname': 'node\n' });
    const before = await snapshotTree(temp.root);
    const scratch = installerScratch(new NodeHostFs(temp.root), STATE_ROOT);
    const first = await scratch.open();
    const second = await scratch.open();
    await first.release();
    expect(existsSync(second.path), 'the later one is still in use').toBe(true);
    await second.release();
    expect(await snapshotTree(temp.root), 'no empty /var/lib/kata-deploy left behind').toEqual(before);
  });

  it("removes a killed run's leftover on first use, and keeps a dir whose run still holds it", async () => {
    temp = await makeTempRoot({ '/var/lib/kata-deploy/default/ledger.json': '{}' });
    const parent = path.join(temp.root, STATE_ROOT);
    const dead = path.join(parent, `${SCRATCH_PREFIX}dead01`);
    const live = path.join(parent, `${SCRATCH_PREFIX}live01`);
    for (const dir of [dead, live]) {
      mkdirSync(path.join(dir, 'etc/containerd'), { recursive: true, mode: 0o700 });
      writeFileSync(path.join(dir, 'etc/containerd/config.toml'), 'version = 2\n');
    }
    const holder = await holdLock(live);
    try {
      const dir = await installerScratch(new NodeHostFs(temp.root), STATE_ROOT).open();
      expect(existsSync(dead)).toBe(false);
      expect(existsSync(path.join(live, 'etc/containerd/config.toml'))).toBe(true);
      expect(existsSync(path.join(parent, 'default/ledger.json'))).toBe(true);
      await dir.release();
      expect(existsSync(dir.path)).toBe(false);
    } finally {
      holder.stop();
    }
  });
});

describe('the containerd validator', () => {
  it('hands containerd copies in a locked 0700 scratch dir inside the host root, removed afterwards', async () => {
    temp = await makeTempRoot({
      '/bin/containerd':
        '#!/bin/sh\nscratch=$(dirname "$(dirname "$(dirname "$2")")")\n' +
        'echo "$scratch $(stat -c %a "$scratch")"\nflock --nonblock "$scratch" true || echo locked\n',
    });
    await chmod(path.join(temp.root, '/bin/containerd'), 0o755);
    const fs = new NodeHostFs(temp.root);
    const validator = containerdValidator({
      runner: childProcessRunner,
      binary: path.join(temp.root, '/bin/containerd'),
      scratch: installerScratch(fs, STATE_ROOT),
    });
    const config = '/etc/containerd/config.toml';
    const result = await validator.validate(config, new Map([[config, Buffer.from('version = 2\n')]]));
    expect(result.ok).toBe(true);
    const [where, mode, lock] = (result.ok ? result.dump : '').trim().split(/\s+/);
    expect(path.dirname(where!)).toBe(path.join(temp.root, STATE_ROOT));
    expect(mode).toBe('700');
    expect(lock, 'the run holds its dir locked while containerd reads it').toBe('locked');
    expect(existsSync(where!)).toBe(false);
  });
});
