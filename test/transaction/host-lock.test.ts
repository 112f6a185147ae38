import { spawn } from 'node:child_process';
import { chmod, chown, mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/host/clock.js';
import { silentLogger } from '../../src/host/logger.js';
import { NodeHostFs } from '../../src/host/node-host-fs.js';
import { HOST_LOCK_PATH } from '../../src/core/paths.js';
import { utilLinuxTryLock } from '../../src/host/flock.js';
import { acquireHostLock } from '../../src/transaction/host-lock.js';
import { makeTempRoot, type TempRoot } from '../helpers/temp-root.js';
import { snapshotTree } from '../helpers/tree-snapshot.js';

let temp: TempRoot | undefined;
afterEach(async () => {
  await temp?.cleanup();
  temp = undefined;
});

describe('acquireHostLock', () => {
  it('makes a second run wait, and say so, until the first releases the lock', async () => {
    temp = await makeTempRoot({});
    const fs = new NodeHostFs(temp.root);
    const first = await acquireHostLock(fs, '/run/lock/kata-deploy.lock', 1000, systemClock, silentLogger());
    let secondHeld = false;
    let sawWaiting!: () => void;
    const waiting = new Promise<void>((resolve) => (sawWaiting = resolve));
    const lines = new Writable({
      write(chunk, _encoding, done) {
        if (String(chunk).includes('another kata-deploy run is in progress')) sawWaiting();
        done();
      },
    });
    const second = acquireHostLock(
      fs,
      '/run/lock/kata-deploy.lock',
      30_000,
      systemClock,
      pino({ level: 'info' }, lines),
    ).then((lock) => {
      secondHeld = true;
      return lock;
    });
    await waiting;
    expect(secondHeld).toBe(false);
    first.release();
    (await second).release();
    expect(secondHeld).toBe(true);
  });

  it('gives up with a clear message after its deadline', async () => {
    temp = await makeTempRoot({});
    const fs = new NodeHostFs(temp.root);
    const held = await acquireHostLock(fs, '/run/lock/kata-deploy.lock', 1000, systemClock, silentLogger());
    try {
      await expect(acquireHostLock(fs, '/run/lock/kata-deploy.lock', 300, systemClock, silentLogger())).rejects.toThrow(
        /another kata-deploy run/,
      );
    } finally {
      held.release();
    }
  });
});

describe('the host lock against other local users', () => {
  const NOBODY = 65534;

  async function hostRoot(): Promise<NodeHostFs> {
    temp = await makeTempRoot({ '/etc': { dir: true }, '/run/lock': { dir: true } });
    await chmod(temp.root, 0o755);
    await chmod(path.join(temp.root, 'run/lock'), 0o1777);
    return new NodeHostFs(temp.root);
  }

  /** Runs `command` as nobody; resolves with 'held' once it says so, or with its exit status. */
  function asNobody(args: string[]): { outcome: Promise<string>; stop(): void } {
    const child = spawn('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const outcome = new Promise<string>((resolve) => {
      child.stdout.on('data', (chunk) => {
        if (String(chunk).includes('held')) resolve('held');
      });
      child.on('exit', (code) => resolve(`exit ${code}`));
    });
    return { outcome, stop: () => child.kill('SIGKILL') };
  }

  it('cannot be held by another user to block every install', async () => {
    const fs = await hostRoot();
    (await acquireHostLock(fs, HOST_LOCK_PATH, 1000, systemClock, silentLogger())).release();
    const file = await fs.realPath(HOST_LOCK_PATH);
    const squatter = asNobody(['flock', '--shared', file, '-c', 'echo held; sleep 30']);
    try {
      expect(await squatter.outcome).not.toBe('held');
      (await acquireHostLock(fs, HOST_LOCK_PATH, 300, systemClock, silentLogger())).release();
    } finally {
      squatter.stop();
    }
  });

  it('creates nothing through a symlink planted in the world-writable /run/lock', async () => {
    const fs = await hostRoot();
    await symlink(path.join(temp!.root, 'etc/nologin'), path.join(temp!.root, 'run/lock/kata-deploy.lock'));
    (await acquireHostLock(fs, HOST_LOCK_PATH, 1000, systemClock, silentLogger())).release();
    expect(await fs.lstat('/etc/nologin')).toBeUndefined();
  });

  it.each<[string, (root: string) => Promise<void>, RegExp]>([
    [
      'the lock file is a symlink',
      async (root) => {
        await mkdir(path.join(root, 'run/kata-deploy'), { mode: 0o700 });
        await symlink(path.join(root, 'etc/nologin'), path.join(root, 'run/kata-deploy/lock'));
      },
      /lock \/run\/kata-deploy\/lock: is a symlink/,
    ],
    [
      'the lock directory is a symlink',
      async (root) => symlink(path.join(root, 'etc'), path.join(root, 'run/kata-deploy')),
      /\/run\/kata-deploy is not a directory/,
    ],
    [
      'the lock directory is world-writable',
      async (root) => {
        await mkdir(path.join(root, 'run/kata-deploy'));
        await chmod(path.join(root, 'run/kata-deploy'), 0o1777);
      },
      /\/run\/kata-deploy has mode 1777, writable by other users/,
    ],
    [
      'the lock directory belongs to another user',
      async (root) => {
        await mkdir(path.join(root, 'run/kata-deploy'), { mode: 0o700 });
        await chown(path.join(root, 'run/kata-deploy'), NOBODY, NOBODY);
      },
      /\/run\/kata-deploy is owned by uid 65534, not root/,
    ],
    [
      'the lock file belongs to another user',
      async (root) => {
        await mkdir(path.join(root, 'run/kata-deploy'), { mode: 0o700 });
        await writeFile(path.join(root, 'run/kata-deploy/lock'), '', { mode: 0o600 });
        await chown(path.join(root, 'run/kata-deploy/lock'), NOBODY, NOBODY);
      },
      /lock \/run\/kata-deploy\/lock: is owned by uid 65534, not root/,
    ],
  ])('refuses (exit 5, nothing created) when %s', async (_name, plant, message) => {
    const fs = await hostRoot();
    await plant(temp!.root);
    const before = await snapshotTree(temp!.root);
    const attempt = acquireHostLock(fs, HOST_LOCK_PATH, 1000, systemClock, silentLogger());
    await expect(attempt).rejects.toThrow(message);
    await expect(attempt).rejects.toMatchObject({ exitCode: 5 });
    expect(await snapshotTree(temp!.root)).toEqual(before);
  });
});

describe('the util-linux flock fallback (no koffi native module)', () => {
  it('holds the lock on our fd after flock(1) exits; koffi and fallback runs exclude each other', async () => {
    temp = await makeTempRoot({});
    const fs = new NodeHostFs(temp.root);
    const held = await acquireHostLock(fs, HOST_LOCK_PATH, 1000, systemClock, silentLogger(), utilLinuxTryLock);
    await expect(acquireHostLock(fs, HOST_LOCK_PATH, 300, systemClock, silentLogger())).rejects.toThrow(
      /another kata-deploy run/,
    );
    held.release();
    const viaKoffi = await acquireHostLock(fs, HOST_LOCK_PATH, 1000, systemClock, silentLogger());
    await expect(
      acquireHostLock(fs, HOST_LOCK_PATH, 300, systemClock, silentLogger(), utilLinuxTryLock),
    ).rejects.toThrow(/another kata-deploy run/);
    viaKoffi.release();
  });
});
