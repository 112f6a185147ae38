import http2 from 'node:http2';
import net from 'node:net';

/** A gRPC failure as the server reported it (status code and message), or a transport failure. */
export class GrpcError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'GrpcError';
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A `grpc-message` as text: percent-encoded UTF-8 is decoded, and anything that is not (a bare `%`
 * from a server that did not encode, an invalid byte sequence) is kept as sent, as the gRPC spec asks.
 * decodeURIComponent threw on those, inside an event handler, which crashed the process.
 */
export function decodeGrpcMessage(raw: string): string {
  return raw.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
    try {
      return UTF8.decode(Buffer.from(run.replaceAll('%', ''), 'hex'));
    } catch {
      return run;
    }
  });
}

/** Per-call deadline and, for namespaced containerd services, the containerd namespace header. */
export interface UnaryOptions {
  readonly timeoutMs?: number;
  readonly namespace?: string;
}

/**
 * One unary gRPC call over a unix socket: an HTTP/2 POST with a 5-byte length prefix. Enough for the
 * handful of containerd and CRI calls we make, without pulling in a gRPC stack and its codegen.
 */
export function grpcUnary(
  socketPath: string,
  method: string,
  request: Buffer,
  options: UnaryOptions = {},
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const session = http2.connect('http://localhost', { createConnection: () => net.connect(socketPath) });
    const timer = setTimeout(
      () => finish(new GrpcError(4, `${method}: no answer within ${options.timeoutMs ?? 5000} ms`)),
      options.timeoutMs ?? 5000,
    );
    let settled = false;
    const finish = (error: Error | undefined, value?: Buffer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.destroy();
      if (error === undefined) resolve(value!);
      else reject(error);
    };
    session.on('error', (error) => finish(new GrpcError(14, `${method}: ${error.message}`)));
    const headers: http2.OutgoingHttpHeaders = {
      ':method': 'POST',
      ':path': method,
      'content-type': 'application/grpc',
      te: 'trailers',
      ...(options.namespace === undefined ? {} : { 'containerd-namespace': options.namespace }),
    };
    const stream = session.request(headers);
    const chunks: Buffer[] = [];
    let status: string | undefined;
    let message = '';
    const takeStatus = (fields: http2.IncomingHttpHeaders): void => {
      if (fields['grpc-status'] !== undefined) {
        status = String(fields['grpc-status']);
        message = decodeGrpcMessage(String(fields['grpc-message'] ?? ''));
      }
    };
    stream.on('response', takeStatus);
    stream.on('trailers', takeStatus);
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('error', (error) => finish(new GrpcError(14, `${method}: ${error.message}`)));
    stream.on('end', () => {
      if (status !== undefined && status !== '0')
        return finish(new GrpcError(Number(status), `${method}: ${message || `grpc status ${status}`}`));
      const body = Buffer.concat(chunks);
      if (body.length < 5)
        return finish(status === '0' ? undefined : new GrpcError(13, `${method}: empty reply`), Buffer.alloc(0));
      finish(undefined, body.subarray(5, 5 + body.readUInt32BE(1)));
    });
    const frame = Buffer.alloc(5);
    frame.writeUInt32BE(request.length, 1);
    stream.end(Buffer.concat([frame, request]));
  });
}
