import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KataDeployError } from '../../src/core/errors.js';
import { NodeHostFs } from '../../src/host/node-host-fs.js';
import { makeTempRoot, type TempRoot } from '../helpers/temp-root.js';

let temp: TempRoot | undefined;
afterEach(async () => {
  await temp?.cleanup();
  temp = undefined;
});

async function hostFs(tree: Parameters<typeof makeTempRoot>[0]): Promise<NodeHostFs> {
  temp = await makeTempRoot(tree);
  return new NodeHostFs(temp.root);
}

describe('the host-root path guard', () => {
  it('resolves host paths under the host root', async () => {
    const fs = await hostFs({ '/etc/containerd/config.toml': 'version = 2\n' });
    expect(await fs.readText('/etc/containerd/config.toml')).toBe('version = 2\n');
    expect(await fs.realPath('/etc/containerd/config.toml')).toBe(path.join(temp!.root, 'etc/containerd/config.toml'));
  });

  it.each(['etc/containerd/config.toml', '/etc/../../outside', '/etc/./containerd'])(
    'refuses the path %s',
    async (bad) => {
      const fs = await hostFs({});
      await expect(fs.readFile(bad)).rejects.toThrow(KataDeployError);
    },
  );

  it('follows an absolute symlink as the host would, inside the host root', async () => {
    const fs = await hostFs({
      '/var/lib/real/config.toml': 'version = 3\n',
      '/etc/containerd/config.toml': { symlink: '/var/lib/real/config.toml' },
    });
    expect(await fs.readText('/etc/containerd/config.toml')).toBe('version = 3\n');
    expect(await fs.canonical('/etc/containerd/config.toml')).toBe('/var/lib/real/config.toml');
  });

  it('never follows an absolute symlink out of the host root', async () => {
    const fs = await hostFs({ '/etc/passwd-link': { symlink: '/etc/hostname' } });
    expect(await fs.exists('/etc/passwd-link')).toBe(false);
  });

  it('refuses a relative symlink that climbs out of the host root', async () => {
    const fs = await hostFs({ '/etc/containerd': { symlink: '../../../../../../etc' } });
    await expect(fs.readFile('/etc/containerd/hostname')).rejects.toThrow(/escapes the host root/);
  });

  it('refuses a symlink loop instead of hanging', async () => {
    const fs = await hostFs({ '/a': { symlink: '/b' }, '/b': { symlink: '/a' } });
    await expect(fs.readFile('/a')).rejects.toThrow(/too many symlinks/);
  });

  it('reports missing files as absent, not as errors', async () => {
    const fs = await hostFs({});
    expect(await fs.readIfExists('/etc/containerd/config.toml')).toBeUndefined();
    expect(await fs.stat('/dev/kvm')).toBeUndefined();
  });
});

describe('atomic writes', () => {
  it('replaces a file whole, keeps its mode, and leaves no temp files', async () => {
    const fs = await hostFs({ '/etc/containerd/config.toml': 'old\n' });
    const real = await fs.realPath('/etc/containerd/config.toml');
    await import('node:fs/promises').then((m) => m.chmod(real, 0o600));
    await fs.writeFileAtomic('/etc/containerd/config.toml', 'new\n');
    expect(await readFile(real, 'utf8')).toBe('new\n');
    expect((await stat(real)).mode & 0o777).toBe(0o600);
    expect(await readdir(path.dirname(real))).toEqual(['config.toml']);
  });

  it('writes through a symlink to its target instead of replacing the link', async () => {
    const fs = await hostFs({ '/data/config.toml': 'old\n', '/etc/config.toml': { symlink: '/data/config.toml' } });
    await fs.writeFileAtomic('/etc/config.toml', 'new\n');
    expect((await fs.lstat('/etc/config.toml'))?.isSymbolicLink()).toBe(true);
    expect(await fs.readText('/data/config.toml')).toBe('new\n');
  });

  it('creates new files with 0644 unless told otherwise', async () => {
    const fs = await hostFs({ '/etc/crio/crio.conf.d': { dir: true } });
    await fs.writeFileAtomic('/etc/crio/crio.conf.d/99-kata-deploy', 'x');
    await fs.writeFileAtomic('/etc/crio/crio.conf.d/secret', 'y', { mode: 0o600 });
    expect((await fs.stat('/etc/crio/crio.conf.d/99-kata-deploy'))!.mode & 0o777).toBe(0o644);
    expect((await fs.stat('/etc/crio/crio.conf.d/secret'))!.mode & 0o777).toBe(0o600);
  });

  it('removes a link itself, not what it points to', async () => {
    const fs = await hostFs({ '/data/keep': 'k', '/etc/link': { symlink: '/data/keep' } });
    await fs.remove('/etc/link');
    expect(await fs.lstat('/etc/link')).toBeUndefined();
    expect(await fs.readText('/data/keep')).toBe('k');
  });
});

describe('atomic writes keep ownership', () => {
  it.skipIf(process.getuid?.() !== 0)('keeps the owner and group of the file it replaces', async () => {
    const fs = await hostFs({ '/etc/containerd/config.toml': 'old\n' });
    const real = await fs.realPath('/etc/containerd/config.toml');
    await import('node:fs/promises').then((m) => m.chown(real, 1234, 5678));
    await fs.writeFileAtomic('/etc/containerd/config.toml', 'new\n');
    const stats = await stat(real);
    expect([stats.uid, stats.gid]).toEqual([1234, 5678]);
  });
});
