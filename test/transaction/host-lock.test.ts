import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/host/clock.js';
import { silentLogger } from '../../src/host/logger.js';
import { NodeHostFs } from '../../src/host/node-host-fs.js';
import { acquireHostLock } from '../../src/transaction/host-lock.js';
import { makeTempRoot, type TempRoot } from '../helpers/temp-root.js';

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
