import { chmod } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseSemVer } from '../../src/core/containerd-version.js';
import { crioVersion } from '../../src/detect/crio-version.js';
import { childProcessRunner } from '../../src/host/command-runner.js';
import { NodeHostFs } from '../../src/host/node-host-fs.js';
import { crioReloadsOnSighup } from '../../src/wiring/runtime-control.js';
import { makeTempRoot, type TempRoot } from '../helpers/temp-root.js';

let temp: TempRoot | undefined;
afterEach(async () => {
  await temp?.cleanup();
  temp = undefined;
});

describe('CRI-O reload', () => {
  it.each([
    ['1.25.4', false],
    ['1.26.0', true],
    ['1.31.2', true],
    ['2.0.0', true],
  ])('CRI-O %s reloads on SIGHUP: %s', (version, expected) => {
    expect(crioReloadsOnSighup(parseSemVer(version))).toBe(expected);
  });

  it('restarts an unknown CRI-O instead of trusting SIGHUP', () => {
    expect(crioReloadsOnSighup(undefined)).toBe(false);
  });

  it('reads the version the crio binary prints', async () => {
    temp = await makeTempRoot({ '/usr/bin/crio': '#!/bin/sh\nprintf "crio version 1.28.1\\nGitCommit: abc\\n"\n' });
    await chmod(path.join(temp.root, 'usr/bin/crio'), 0o755);
    expect(await crioVersion(new NodeHostFs(temp.root), childProcessRunner)).toEqual({ major: 1, minor: 28, patch: 1 });
  });

  it('knows no version on a host without crio', async () => {
    temp = await makeTempRoot({});
    expect(await crioVersion(new NodeHostFs(temp.root), childProcessRunner)).toBeUndefined();
  });
});
