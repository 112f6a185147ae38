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
  it('makes a second run wait until the first releases the lock', async () => {
    temp = await makeTempRoot({});
    const fs = new NodeHostFs(temp.root);
    const first = await acquireHostLock(fs, '/run/lock/kata-deploy.lock', 1000, systemClock, silentLogger());
    let secondHeld = false;
    const second = acquireHostLock(fs, '/run/lock/kata-deploy.lock', 5000, systemClock, silentLogger()).then((lock) => {
      secondHeld = true;
      return lock;
    });
    await systemClock.sleep(300);
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
      await expect(acquireHostLock(fs, '/run/lock/kata-deploy.lock', 300, systemClock, silentLogger())).rejects.toThrow(/another kata-deploy run/);
    } finally {
      held.release();
    }
  });
});
