import { spawn, execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import { makeTempRoot, type TempRoot } from '../helpers/temp-root.js';
import { samplePayload } from '../helpers/sample-payload.js';
import { makeSelfSignedCert } from '../helpers/self-signed-cert.js';
import { snapshotTree } from '../helpers/tree-snapshot.js';

const CLI = path.resolve(import.meta.dirname, '../../dist/cli/main.js');
const CONFIG = 'version = 2\n';

let server: Server;
let url: string;
let sha: string;
const sockets = new Set<Socket>();
let temp: TempRoot | undefined;
let certDir: string;

/** Serves the first 256 KiB of the payload and then stalls: an install stays inside its unpack until killed. */
beforeAll(async () => {
  const payload = readFileSync(samplePayload());
  sha = createHash('sha256').update(payload).digest('hex');
  const { cert, key } = makeSelfSignedCert();
  server = createServer({ cert, key }, (_request, response) => {
    response.writeHead(200, { 'content-length': String(payload.length) });
    response.write(payload.subarray(0, 256 * 1024));
  });
  server.on('secureConnection', (socket) => sockets.add(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `https://localhost:${(server.address() as AddressInfo).port}/kata-static.tar.zst`;
  certDir = mkdtempSync(path.join(tmpdir(), 'kata-stall-ca-'));
  writeFileSync(path.join(certDir, 'ca.pem'), cert);
});
afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => server.close(resolve));
  rmSync(certDir, { recursive: true, force: true });
});
afterEach(async () => {
  await temp?.cleanup();
  temp = undefined;
});

function args(command: string): string[] {
  return [CLI, command, '--host-root', temp!.root, '--shims', 'qemu', '--restart', 'none'];
}

const ENV = { PATH: process.env.PATH ?? '', LOG_FORMAT: 'json', KATA_REQUIRE_KVM: 'false' };

function stagingDirs(): string[] {
  return readdirSync(path.join(temp!.root, 'opt')).filter((name) => name.startsWith('.kata-deploy-staging.'));
}

describe('a first install killed during unpack', () => {
  it('leaves a staging tree that uninstall removes, putting the host back as it was', async () => {
    temp = await makeTempRoot({
      '/etc/containerd/config.toml': CONFIG,
      '/opt/other/keep': 'x',
      '/run/lock': { dir: true },
    });
    const before = await snapshotTree(temp.root);
    const ca = path.join(certDir, 'ca.pem');
    const child = spawn(
      process.execPath,
      [...args('install'), '--payload', url, '--payload-sha256', sha, '--payload-ca', ca],
      { env: ENV, stdio: 'ignore' },
    );
    const exited = new Promise((resolve) => child.once('exit', resolve));
    while (stagingDirs().length === 0 && child.exitCode === null) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGKILL');
    await exited;
    expect(stagingDirs()).toHaveLength(1);

    const run = await new Promise<{ code: number; stdout: string }>((resolve) =>
      execFile(process.execPath, [...args('uninstall'), '--json'], { env: ENV }, (error, stdout) =>
        resolve({ code: error === null ? 0 : ((error as { code?: number }).code ?? 1), stdout }),
      ),
    );
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result.nothingInstalled).toBe(true);
    const after = await snapshotTree(temp.root);
    delete after['run/lock/kata-deploy.lock'];
    expect(after).toEqual(before);
    expect(result.removedLeftovers).toEqual([expect.stringMatching(/^\/opt\/\.kata-deploy-staging\.kata\./)]);
  });
});
