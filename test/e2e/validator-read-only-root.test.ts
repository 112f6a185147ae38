import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { throwawayNodeUnsupported } from '../helpers/throwaway-node/node.mjs';

const DIST = path.resolve(import.meta.dirname, '../../dist');

/**
 * Runs in the pod's view: a container root mounted read-only, /host holding only /usr (read-only) and
 * the state dir (writable), as daemonset.yaml mounts them. The host's containerd validates a config it
 * accepts and one it refuses; every library it loads is reported by the host's loader (LD_DEBUG).
 */
const INSIDE = `
import { writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
const { containerdValidator, containerdCommand } = await import('${DIST}/containerd/config/validator.js');
const { childProcessRunner } = await import('${DIST}/host/command-runner.js');
const { installerScratch } = await import('${DIST}/host/scratch-space.js');
const { NodeHostFs } = await import('${DIST}/host/node-host-fs.js');
const hostRoot = process.env.POD_HOST;
const binary = hostRoot + '/usr/bin/containerd';
const validator = containerdValidator({
  runner: childProcessRunner,
  scratch: installerScratch(new NodeHostFs(hostRoot), '/var/lib/kata-deploy'),
  binary,
  loaderRoot: hostRoot,
});
const main = '/etc/containerd/config.toml';
const good = await validator.validate(main, new Map([[main, Buffer.from('version = 2\\n')]]));
const bad = await validator.validate(main, new Map([[main, Buffer.from('version = 2\\n[plugins\\n')]]));
let rootWrite = 'written';
try { writeFileSync('/tmp/kata-deploy-root-probe', 'x'); } catch (error) { rootWrite = error.code; }
const command = containerdCommand(binary, hostRoot, ['--version']);
const loaderDebug = spawnSync(command.file, command.args, { env: { LD_DEBUG: 'libs' }, encoding: 'utf8' }).stderr;
process.stdout.write(JSON.stringify({ good, bad, rootWrite, command, loaderDebug }));
`;

const SETUP = `set -e
P="$1"
mount -t tmpfs pod "$P"
mkdir -p "$P/host/usr" "$P/host/var/lib/kata-deploy"
mount --bind /usr "$P/host/usr" && mount -o remount,bind,ro "$P/host/usr"
mount --bind "$STATE" "$P/host/var/lib/kata-deploy"
mount -o remount,bind,ro "$P"
mount -o remount,bind,ro /
export POD_HOST="$P/host"
exec "$NODE" --input-type=module -e "$INSIDE"
`;

const missing =
  throwawayNodeUnsupported() ?? (existsSync('/usr/bin/containerd') ? undefined : 'needs /usr/bin/containerd');

describe.skipIf(missing !== undefined)(
  `the host's containerd validates from a read-only container root${missing ? ` (skipped: ${missing})` : ''}`,
  () => {
    const work = mkdtempSync(path.join(tmpdir(), 'kata-ro-root-'));
    afterAll(() => rmSync(work, { recursive: true, force: true }));

    it("through the host's loader and libraries, with scratch files only in the mounted state dir", () => {
      const podRoot = path.join(work, 'pod');
      const state = path.join(work, 'state');
      spawnSync('mkdir', ['-p', podRoot, state]);
      const run = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', SETUP, 'sh', podRoot], {
        env: { PATH: process.env.PATH ?? '', STATE: state, NODE: process.execPath, INSIDE },
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(run.status, run.stderr).toBe(0);
      const result = JSON.parse(run.stdout);
      expect(result.rootWrite, 'the container root is read-only in this test').toBe('EROFS');
      expect(result.good.ok, result.good.message).toBe(true);
      expect(result.good.dump).toContain('[plugins');
      expect(result.bad.ok).toBe(false);
      expect(result.bad.message).toMatch(/toml|expected|unexpected/i);
      expect(result.bad.message).not.toContain('kata-deploy/.scratch-');
      const hostRoot = path.join(podRoot, 'host');
      expect(result.command.file.startsWith(`${hostRoot}/usr/`), result.command.file).toBe(true);
      const loaded = [...String(result.loaderDebug).matchAll(/calling init: (\S+)/g)].map((match) => match[1]!);
      expect(loaded.length, String(result.loaderDebug).slice(0, 2000)).toBeGreaterThan(0);
      for (const library of loaded) expect(library.startsWith(`${hostRoot}/usr/`), library).toBe(true);
      expect(readdirSync(state), 'no scratch dir left in the state dir').toEqual([]);
    });
  },
);
