import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempRoot, type TempRoot } from '../helpers/temp-root.js';
import { samplePayload } from '../helpers/sample-payload.js';
import { makeSelfSignedCert } from '../helpers/self-signed-cert.js';

/** `status` on a node whose runtime does not answer: the handler table with the launch column. */
const UNANSWERED_STATUS =
  /^HANDLER {4}RUNTIME {31}LAUNCH\nkata-qemu {2}unknown \(the runtime did not answer\) {2}runs \/opt\/kata\/bin\//m;

const CLI = path.resolve(import.meta.dirname, '../../dist/cli/main.js');
const CLEAR = '\r\x1b[2K';
const ESC = '\x1b[';
const CONFIG = 'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n  runtime_type = "runc"\n';
const ENV = { PATH: process.env.PATH ?? '', KATA_REQUIRE_KVM: 'false', TERM: 'xterm-256color' };

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function settle(resolve: (run: Run) => void) {
  return (error: Error | null, stdout: string, stderr: string) =>
    resolve({ code: error === null ? 0 : ((error as { code?: number }).code ?? 1), stdout, stderr });
}

const quote = (arg: string): string => `'${arg.replaceAll("'", "'\\''")}'`;

/** The CLI on a pseudo-terminal (util-linux script): stdout and stderr both a 100-column TTY, merged. */
function onTerminal(args: readonly string[]): Promise<Run> {
  const command = `stty cols 100; exec ${[process.execPath, CLI, ...args].map(quote).join(' ')}`;
  return new Promise((resolve) => {
    execFile('script', ['-q', '-e', '-c', command, '/dev/null'], { env: ENV, timeout: 120_000 }, settle(resolve));
  });
}

/** The CLI with pipes for stdout and stderr, as in a pod or a CI log. */
function onPipes(args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: ENV, timeout: 120_000 }, settle(resolve));
  });
}

let temp: TempRoot;
let payload: Buffer;
let server: Server;
let url: string;
let caFile: string;

beforeAll(async () => {
  payload = readFileSync(samplePayload());
  const cert = makeSelfSignedCert();
  // Half the archive, a pause, the rest: the progress line has a rate and an ETA to show by then.
  // At /cut, the connection drops after the first half.
  server = createServer({ key: cert.key, cert: cert.cert }, (request, response) => {
    response.writeHead(200, { 'content-length': payload.length });
    const half = Math.floor(payload.length / 2);
    response.write(payload.subarray(0, half));
    if (request.url === '/cut') setTimeout(() => response.destroy(), 300);
    else setTimeout(() => response.end(payload.subarray(half)), 300);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `https://localhost:${(server.address() as AddressInfo).port}/kata-static.tar.zst`;
  temp = await makeTempRoot({ '/etc/containerd/config.toml': CONFIG, '/run/lock': { dir: true } });
  caFile = path.join(temp.root, 'ca.pem');
  writeFileSync(caFile, cert.cert);
});
afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await temp?.cleanup();
});

const sha256 = () => createHash('sha256').update(payload).digest('hex');
const common = () => ['--host-root', temp.root, '--shims', 'qemu', '--restart', 'none'];
const fromUrl = () => ['--payload', url, '--payload-ca', caFile, '--payload-sha256', sha256()];

/** The frames of a progress line in terminal output, in order. */
function frames(output: string, phase: string): string[] {
  return output
    .split(CLEAR)
    .slice(1)
    .filter((frame) => frame.startsWith(phase));
}

describe('on a terminal', () => {
  it('redraws a download line with bytes, total, rate and ETA on stderr, then erases it', async () => {
    const run = await onTerminal(['install', '--dry-run', ...common(), ...fromUrl()]);
    expect(run.code, run.stdout).toBe(0);
    const drawn = frames(run.stdout, 'download');
    const total = `${(payload.length / 1024 / 1024).toFixed(1)} MiB`;
    expect(drawn[0]).toMatch(new RegExp(`^download  0 B / ${total}    0%`));
    expect(
      drawn.some((frame) => /B\/s {2}ETA \d/.test(frame)),
      drawn.join('|'),
    ).toBe(true);
    const lastFrame = run.stdout.lastIndexOf(`${CLEAR}download`);
    expect(run.stdout.indexOf(`${CLEAR}`, lastFrame + 1), 'the line is erased after the last frame').toBeGreaterThan(
      lastFrame,
    );
    expect(run.stdout).not.toMatch(/"msg":"download/);
  });

  it('erases the line before the error when the download breaks off', async () => {
    const cut = ['--payload', new URL('/cut', url).href, '--payload-ca', caFile, '--payload-sha256', sha256()];
    const run = await onTerminal(['install', ...common(), ...cut]);
    expect(run.code, run.stdout).toBe(4);
    const lastFrame = run.stdout.lastIndexOf(`${CLEAR}download`);
    const erased = run.stdout.indexOf(CLEAR, lastFrame + 1);
    expect(lastFrame).toBeGreaterThanOrEqual(0);
    expect(erased).toBeGreaterThan(lastFrame);
    expect(run.stdout.indexOf('cannot read the payload', erased)).toBeGreaterThan(erased);
  });

  it('shows the unpack of a local archive and colours the dry-run diff', async () => {
    const run = await onTerminal(['install', '--dry-run', ...common(), '--payload', samplePayload()]);
    expect(run.code, run.stdout).toBe(0);
    expect(frames(run.stdout, 'unpack')[0]).toMatch(/^unpack {4}0 B \/ 1\.\d MiB {4}0%/);
    expect(run.stdout).toContain(`${ESC}32m+`);
    expect(run.stdout).toContain(`${ESC}36m@@ `);
    expect(run.stdout).toContain(`${ESC}1m--- a/etc/containerd/config.toml`);
  });

  it('draws nothing with --log-level warn', async () => {
    const run = await onTerminal(['install', '--dry-run', '--log-level', 'warn', ...common(), ...fromUrl()]);
    expect(run.code, run.stdout).toBe(0);
    expect(run.stdout).not.toContain(CLEAR);
    expect(run.stdout).not.toContain('download');
  });

  it('logs start and end instead of drawing when the logs are JSON', async () => {
    const run = await onTerminal(['install', '--dry-run', '--log-format', 'json', ...common(), ...fromUrl()]);
    expect(run.code, run.stdout).toBe(0);
    expect(frames(run.stdout, 'download')).toEqual([]);
    expect(run.stdout).toContain('"msg":"download started"');
    expect(run.stdout).toContain('"msg":"download finished"');
  });
});

describe('without a terminal', () => {
  it('logs one line at the start and one at the end with the figures, and nothing redrawn or coloured', async () => {
    const run = await onPipes(['install', '--dry-run', '--log-format', 'json', ...common(), ...fromUrl()]);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stderr
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const about = lines.filter((line) => line.phase === 'download');
    expect(about.map((line) => line.msg)).toEqual(['download started', 'download finished']);
    expect(about[0]).toMatchObject({ totalBytes: payload.length });
    expect(about[1]).toMatchObject({ bytes: payload.length, totalBytes: payload.length });
    expect(typeof about[1]!.ms).toBe('number');
    expect(typeof about[1]!.bytesPerSecond).toBe('number');
    expect(run.stderr + run.stdout).not.toContain('\r');
    expect(run.stderr + run.stdout).not.toContain(ESC);
    expect(run.stdout).toMatch(/^\+.*runtimes\.kata-qemu\]/m);
  });
});

describe('status for people', () => {
  it('prints each handler with its live state and each drifted file as aligned tables, exit 8', async () => {
    const host = await makeTempRoot({ '/etc/containerd/config.toml': CONFIG, '/run/lock': { dir: true } });
    try {
      const args = ['--host-root', host.root, '--shims', 'qemu', '--restart', 'none', '--payload', samplePayload()];
      expect((await onPipes(['install', ...args])).code).toBe(0);
      writeFileSync(path.join(host.root, 'etc/containerd/config.toml'), CONFIG);
      const run = await onPipes(['status', ...args]);
      expect(run.code, run.stderr).toBe(8);
      expect(run.stdout).toMatch(UNANSWERED_STATUS);
      expect(run.stdout).toMatch(/^\/etc\/containerd\/config\.toml +DRIFTED \(changed\)$/m);
      expect(run.stdout).toMatch(/^\/opt\/kata\/\S+configuration-qemu\.toml +as written$/m);
    } finally {
      await host.cleanup();
    }
  });
});
