import type { AddressInfo } from 'node:net';

// Not `import ... from 'node:http'`: an ES module namespace of node:http evaluates its lazy WebSocket,
// CloseEvent and MessageEvent getters, which load undici (~13 MiB of RSS the idle daemon would keep).
const { createServer } = process.getBuiltinModule('node:http');

/** The DaemonSet's probe endpoints: live as soon as the process serves, ready only once labelled. */
export interface HealthServer {
  readonly port: number;
  setReady(ready: boolean): void;
  close(): Promise<void>;
}

/** Default port of /healthz and /readyz; daemonset.yaml's probes point at it. */
export const DEFAULT_HEALTH_PORT = 8090;

/**
 * A bare node:http server (no framework: the daemon idles for weeks and every MiB of RSS is paid on
 * every node). `/healthz` answers 200 while the event loop runs; `/readyz` 200 only after the node
 * is labelled, 503 before and during teardown, so `kubectl rollout status` waits for real installs.
 */
export async function startHealthServer(port: number, host = '0.0.0.0'): Promise<HealthServer> {
  let ready = false;
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const [status, body] =
      path === '/healthz'
        ? [200, 'ok']
        : path === '/readyz'
          ? ready
            ? [200, 'ready']
            : [503, 'not ready']
          : [404, 'not found'];
    res.writeHead(status, { 'content-type': 'text/plain', connection: 'close' });
    res.end(`${body}\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    setReady: (value) => {
      ready = value;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
