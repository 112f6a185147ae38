import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server } from 'node:https';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from 'vitest';
import type { KataDeployError } from '../../src/core/errors.js';
import { stagePayload } from '../../src/payload/index.js';
import { bypassesProxy } from '../../src/payload/remote-source.js';
import { makeTempRoot, type TempRoot } from '../helpers/temp-root.js';
import { compress, craftTar } from '../helpers/tar-craft.js';
import { commitAndFinalize, minimalPayload, payloadPorts, payloadSettings, sha256, snapshot } from './fixtures.js';

describe('payloads fetched over https', () => {
  let certs: string;
  let ca: string;
  let server: Server;
  let proxy: HttpServer;
  let base: string;
  let proxyUrl: string;
  let tunnels = 0;
  const sockets = new Set<{ destroy(): void }>();
  const files = new Map<string, Buffer>();
  let host: TempRoot;

  beforeAll(async () => {
    certs = await mkdtemp(path.join(tmpdir(), 'kata-certs-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
        '-keyout',
        path.join(certs, 'key.pem'),
        '-out',
        path.join(certs, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    ca = readFileSync(path.join(certs, 'cert.pem'), 'utf8');
    server = createServer({ key: readFileSync(path.join(certs, 'key.pem')), cert: ca }, (request, response) => {
      const body = files.get(request.url ?? '');
      response.writeHead(body === undefined ? 404 : 200).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `https://localhost:${(server.address() as AddressInfo).port}`;
    proxy = createHttpServer();
    proxy.on('connect', (request, socket) => {
      tunnels += 1;
      sockets.add(socket);
      const [hostName, port] = (request.url ?? '').split(':');
      const upstream = connect(Number(port), hostName === 'localhost' ? '127.0.0.1' : hostName!, () => {
        sockets.add(upstream);
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.pipe(socket);
        socket.pipe(upstream);
      });
      upstream.on('error', () => socket.destroy());
      socket.on('error', () => upstream.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    server.closeAllConnections();
    proxy.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await new Promise((resolve) => proxy.close(resolve));
    await rm(certs, { recursive: true, force: true });
  });
  beforeEach(async () => {
    host = await makeTempRoot();
    files.clear();
    tunnels = 0;
  });
  afterEach(async () => host.cleanup());

  const archive = compress(craftTar(minimalPayload()), 'zst');

  it('installs from a URL whose published .sha256 matches, trusting a custom CA', async () => {
    files.set('/kata.tar.zst', archive);
    files.set('/kata.tar.zst.sha256', Buffer.from(`${sha256(archive)}  kata-static.tar.zst\n`));
    const settings = payloadSettings(`${base}/kata.tar.zst`);
    const ports = { ...payloadPorts(host.root), fetch: { caCertificates: ca } };
    const staged = await stagePayload(settings, ports);
    await commitAndFinalize(staged, settings, ports);
    expect(snapshot(host.root)['opt/kata/bin/containerd-shim-kata-v2']).toMatch(/^file 755/);
    expect((await stagePayload(settings, ports)).unchanged).toBe(true);
  });

  it('refuses a URL without any checksum unless unverified payloads are allowed', async () => {
    files.set('/kata.tar.zst', archive);
    const ports = { ...payloadPorts(host.root), fetch: { caCertificates: ca } };
    const error = await stagePayload(payloadSettings(`${base}/kata.tar.zst`), ports).catch((caught: unknown) => caught);
    expect((error as KataDeployError).code).toBe('bad-payload');
    expect((error as Error).message).toContain('has no checksum');
    expect(snapshot(host.root)).toEqual({});
    const staged = await stagePayload(payloadSettings(`${base}/kata.tar.zst`, { allowUnverifiedPayload: true }), ports);
    expect(staged.manifest.source.sha256).toBe(sha256(archive));
  });

  it('refuses a download that does not match the published checksum', async () => {
    files.set('/kata.tar.zst', archive);
    files.set('/kata.tar.zst.sha256', Buffer.from(`${sha256(Buffer.from('other'))}\n`));
    const ports = { ...payloadPorts(host.root), fetch: { caCertificates: ca } };
    const error = await stagePayload(payloadSettings(`${base}/kata.tar.zst`), ports).catch((caught: unknown) => caught);
    expect((error as Error).message).toContain('checksum mismatch');
    expect(snapshot(host.root)).toEqual({});
  });

  it('refuses a server whose certificate is not trusted', async () => {
    files.set('/kata.tar.zst', archive);
    const error = await stagePayload(
      payloadSettings(`${base}/kata.tar.zst`, { payloadSha256: sha256(archive) }),
      payloadPorts(host.root),
    ).catch((caught: unknown) => caught);
    expect((error as KataDeployError).code).toBe('bad-payload');
    expect((error as Error).message).toMatch(/cannot download payload .*certificate/);
  });

  it('goes through HTTPS_PROXY, and around it for hosts in NO_PROXY', async () => {
    files.set('/kata.tar.zst', archive);
    const settings = payloadSettings(`${base}/kata.tar.zst`, { payloadSha256: sha256(archive) });
    await stagePayload(settings, { ...payloadPorts(host.root), fetch: { caCertificates: ca, httpsProxy: proxyUrl } });
    expect(tunnels).toBe(1);
    await stagePayload(settings, {
      ...payloadPorts(host.root),
      fetch: { caCertificates: ca, httpsProxy: proxyUrl, noProxy: '.example.com,localhost' },
    });
    expect(tunnels).toBe(1);
  });

  it('matches NO_PROXY entries as hosts, domain suffixes and the wildcard', () => {
    expect(bypassesProxy('mirror.corp.example', '.corp.example')).toBe(true);
    expect(bypassesProxy('corp.example', 'corp.example:443')).toBe(true);
    expect(bypassesProxy('evilcorp.example', 'corp.example')).toBe(false);
    expect(bypassesProxy('anything', '*')).toBe(true);
    expect(bypassesProxy('github.com', undefined)).toBe(false);
  });

  it('derives the checksum URL of a URL with a query from its path, keeping the query', async () => {
    files.set('/kata.tar.zst?v=1', archive);
    files.set('/kata.tar.zst.sha256?v=1', Buffer.from(`${sha256(archive)}  kata-static.tar.zst\n`));
    const ports = { ...payloadPorts(host.root), fetch: { caCertificates: ca } };
    const staged = await stagePayload(payloadSettings(`${base}/kata.tar.zst?v=1`), ports);
    expect(staged.manifest.source.sha256).toBe(sha256(archive));
  });

  it('reads at most a few KiB of a checksum file (a server answering with the payload is refused)', async () => {
    files.set('/kata.tar.zst', archive);
    files.set('/kata.tar.zst.sha256', Buffer.alloc(8 << 20, 'a'));
    const ports = { ...payloadPorts(host.root), fetch: { caCertificates: ca } };
    const error = await stagePayload(payloadSettings(`${base}/kata.tar.zst`), ports).catch((caught: unknown) => caught);
    expect((error as KataDeployError).code).toBe('bad-payload');
    expect((error as Error).message).toMatch(/\.sha256: larger than 4096 bytes, not a checksum file/);
  });

  it('never logs or records the query token of a payload URL, nor prints it in errors', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'trace' }, { write: (line: string) => void lines.push(line) });
    files.set('/kata.tar.zst?token=SECRET42', archive);
    files.set('/kata.tar.zst.sha256?token=SECRET42', Buffer.from(`${sha256(archive)}\n`));
    const url = `${base}/kata.tar.zst?token=SECRET42`;
    const ports = { ...payloadPorts(host.root), log, fetch: { caCertificates: ca } };
    const staged = await stagePayload(payloadSettings(url), ports);
    expect(JSON.stringify(staged.manifest)).not.toContain('SECRET42');
    expect(lines.join('')).toContain('token=***');
    const mismatch = await stagePayload(payloadSettings(url, { payloadSha256: sha256(Buffer.from('x')) }), ports).catch(
      (caught: unknown) => caught,
    );
    expect((mismatch as Error).message).toContain('checksum mismatch');
    const unreachable = await stagePayload(
      payloadSettings('https://127.0.0.1:1/kata.tar.zst?token=SECRET42&sig=SECRET43', {
        payloadSha256: sha256(archive),
      }),
      ports,
    ).catch((caught: unknown) => caught);
    expect((unreachable as Error).message).toContain('cannot download payload');
    for (const text of [lines.join(''), (mismatch as Error).message, (unreachable as Error).message])
      expect(text).not.toMatch(/SECRET4[23]/);
  });
});
