import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** A containerd daemon of our own, with config, root, state and socket inside a test directory. */
export interface PrivateContainerd {
  readonly socket: string;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts `binary` with every path under `dir` (TESTBED: a private instance runs fine this way) and
 * waits for its socket. `extraConfig` is appended to a minimal config that moves every path into `dir`.
 */
export async function startPrivateContainerd(
  binary: string,
  dir: string,
  socket = path.join(dir, 'containerd.sock'),
  extraConfig = '',
): Promise<PrivateContainerd> {
  await mkdir(path.dirname(socket), { recursive: true });
  await mkdir(dir, { recursive: true });
  const config = path.join(dir, 'containerd-test.toml');
  await writeFile(
    config,
    [
      'version = 2',
      `root = "${dir}/root"`,
      `state = "${dir}/state"`,
      '[grpc]',
      `  address = "${socket}"`,
      '[ttrpc]',
      `  address = "${socket}.ttrpc"`,
      '[debug]',
      `  address = "${socket}.debug"`,
      extraConfig,
    ].join('\n'),
  );
  const child = spawn(binary, ['--config', config], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (let attempt = 0; attempt < 200 && !existsSync(socket); attempt++) {
    if (child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  if (!existsSync(socket)) {
    child.kill('SIGKILL');
    throw new Error(`containerd ${binary} did not create ${socket}`);
  }
  return {
    socket,
    process: child,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
