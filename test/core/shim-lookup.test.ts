import { describe, expect, it } from 'vitest';
import { parseSemVer } from '../../src/core/containerd-version.js';
import { handlersFor } from '../../src/core/handlers.js';
import {
  planShimLinks,
  type RuntimeProcessFacts,
  runtimePathHonoured,
  shimBinaryName,
  shimLookupOrder,
} from '../../src/core/shim-lookup.js';
import { pathFromEnviron } from '../../src/detect/runtime-process.js';
import { environmentAssignments, pathFromUnitFiles } from '../../src/detect/unit-environment.js';

describe('runtimePathHonoured: the containerd releases that exec runtime_path', () => {
  it.each([
    ['1.5.18', false],
    ['1.6.0', false],
    ['1.6.20~ds1', false],
    ['1.6.21', true],
    ['1.6.39', true],
    ['1.7.0', false],
    ['v1.7.0-k3s1', false],
    ['1.7.1', true],
    ['1.7.24~ds1', true],
    ['2.0.0', true],
    ['2.1.9+unknown', true],
  ])('containerd %s → %s', (version, honoured) => {
    expect(runtimePathHonoured(parseSemVer(version)!)).toBe(honoured);
  });
});

describe('shim lookup by runtime_type, as containerd does it', () => {
  const facts: RuntimeProcessFacts = {
    cwd: '/',
    path: ['/usr/local/sbin', 'relative/bin', '/usr/local/bin/', '/usr/bin'],
    exeDir: '/usr/bin',
    source: 'test',
  };

  it('names the binary from the last two parts of the type', () => {
    expect(shimBinaryName('io.containerd.kata-qemu-debug.v2')).toBe('containerd-shim-kata-qemu-debug-v2');
    expect(shimBinaryName('kata')).toBeUndefined();
  });

  it("tries the working directory, the absolute PATH entries, then the daemon's own directory, once each", () => {
    expect(shimLookupOrder('io.containerd.kata-qemu.v2', facts)).toEqual([
      '/containerd-shim-kata-qemu-v2',
      '/usr/local/sbin/containerd-shim-kata-qemu-v2',
      '/usr/local/bin/containerd-shim-kata-qemu-v2',
      '/usr/bin/containerd-shim-kata-qemu-v2',
    ]);
  });

  it('links every handler (suffix and debug included) into the first PATH directory that exists', () => {
    const handlers = handlersFor({
      shims: ['qemu', 'clh-runtime-rs'],
      multiInstallSuffix: 'blue',
      debug: true,
      installDir: '/opt/kata-blue',
      snapshotterHandlerMapping: new Map(),
    });
    const planned = planShimLinks(handlers, facts, new Set(['/usr/local/bin/', '/usr/bin']));
    expect(planned?.dir).toBe('/usr/local/bin');
    expect(planned?.links.map((link) => [link.path, link.target])).toEqual([
      ['/usr/local/bin/containerd-shim-kata-qemu-blue-v2', '/opt/kata-blue/bin/containerd-shim-kata-v2'],
      ['/usr/local/bin/containerd-shim-kata-qemu-blue-debug-v2', '/opt/kata-blue/bin/containerd-shim-kata-v2'],
      [
        '/usr/local/bin/containerd-shim-kata-clh-runtime-rs-blue-v2',
        '/opt/kata-blue/runtime-rs/bin/containerd-shim-kata-v2',
      ],
      [
        '/usr/local/bin/containerd-shim-kata-clh-runtime-rs-blue-debug-v2',
        '/opt/kata-blue/runtime-rs/bin/containerd-shim-kata-v2',
      ],
    ]);
  });

  it('has nowhere to link when no PATH directory exists', () => {
    expect(planShimLinks([], facts, new Set())).toBeUndefined();
  });

  it('reads PATH from a NUL-separated environment block', () => {
    expect(pathFromEnviron(Buffer.from('HOME=/root\0PATH=/a:/b\0X=PATH=/c\0'))).toEqual(['/a', '/b']);
    expect(pathFromEnviron(Buffer.from('HOME=/root\0'))).toBeUndefined();
  });
});

describe("a unit's PATH from its Environment= lines", () => {
  it('splits quoted assignments and lets later lines and drop-ins win', () => {
    expect(environmentAssignments(`"PATH=/a b:/c" X=1 'Y=2 3'`)).toEqual(['PATH=/a b:/c', 'X=1', 'Y=2 3']);
    const unit = '[Unit]\nEnvironment=PATH=/not/service\n[Service]\nEnvironment="PATH=/opt/bin:/usr/bin" X=1\n';
    expect(pathFromUnitFiles([unit])).toEqual(['/opt/bin', '/usr/bin']);
    expect(pathFromUnitFiles([unit, '[Service]\nEnvironment=PATH=/drop/in\n'])).toEqual(['/drop/in']);
    expect(pathFromUnitFiles([unit, '[Service]\nEnvironment=\n'])).toBeUndefined();
    expect(pathFromUnitFiles(['[Service]\nExecStart=/usr/bin/containerd\n'])).toBeUndefined();
  });
});
