import http2 from 'node:http2';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GrpcError, grpcUnary } from '../../src/containerd/grpc-unary.js';

describe('gRPC error messages', () => {
  let dir: string;
  let socket: string;
  let server: http2.Http2Server;
  let reply = '';

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'kata-grpc-'));
    socket = path.join(dir, 'grpc.sock');
    server = http2.createServer();
    server.on('stream', (stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '2', 'grpc-message': reply }));
      stream.end();
    });
    await new Promise<void>((resolve) => server.listen(socket, resolve));
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    ['a bare % (not percent-encoding)', 'disk 100% full', 'disk 100% full'],
    ['a % before non-hex characters', 'rate %zz exceeded', 'rate %zz exceeded'],
    ['percent-encoded UTF-8', 'bad %E2%9C%93 and 50%25', 'bad ✓ and 50%'],
    ['an invalid UTF-8 sequence', 'bytes %FF here', 'bytes %FF here'],
  ])('reports %s as an error, never a crash', async (_what, sent, shown) => {
    reply = sent;
    const error = await grpcUnary(socket, '/x.Y/Z', Buffer.alloc(0), { timeoutMs: 10_000 }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(GrpcError);
    expect((error as GrpcError).status).toBe(2);
    expect((error as Error).message).toBe(`/x.Y/Z: ${shown}`);
  });
});
