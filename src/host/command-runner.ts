import { spawn } from 'node:child_process';
import { ownChild } from './owned-children.js';

/** The outcome of a host program, whatever its exit status. */
export interface CommandResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly timeoutMs?: number;
  readonly input?: string;
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * The port for running host programs (containerd, xz, zstd): an argv array, never a shell string, and a
 * result instead of a throw for non-zero exits so callers can quote the program's own complaint.
 */
export interface CommandRunner {
  run(file: string, args: readonly string[], options?: RunOptions): Promise<CommandResult>;
}

/**
 * Runs programs with node:child_process (no shell); a missing binary comes back as exit 127 with the
 * reason on stderr, a timeout as 124 after SIGKILL. Not execa: importing it cost 80–90 ms of every CLI
 * start (scripts/bench/payload.mjs), a quarter of a converged reinstall's budget, for features a
 * runner of argv arrays does not use.
 */
export const childProcessRunner: CommandRunner = {
  run(file, args, options = {}) {
    return new Promise((resolve) => {
      const child = ownChild(
        spawn(file, [...args], {
          stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
          ...(options.env === undefined ? {} : { env: { ...process.env, ...options.env } }),
        }),
      );
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, options.timeoutMs ?? 60_000);
      child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
      child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
      child.stdin?.on('error', () => undefined);
      child.stdin?.end(options.input);
      const finish = (exitCode: number, fallback: string): void => {
        clearTimeout(timer);
        const err = Buffer.concat(stderr).toString('utf8');
        resolve({ exitCode, stdout: Buffer.concat(stdout).toString('utf8'), stderr: err || fallback });
      };
      child.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') finish(127, `${file}: not found`);
        else finish(1, `${file}: ${error.message}`);
      });
      child.on('close', (code) => {
        if (timedOut) finish(124, `${file}: timed out`);
        else finish(code ?? 1, '');
      });
    });
  },
};
