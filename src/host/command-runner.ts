import { execa } from 'execa';
import { OWNED_CHILD_OPTIONS, ownChild } from './owned-children.js';

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

/** Runs programs with execa; a missing binary comes back as exit 127 with the reason on stderr. */
export const execaRunner: CommandRunner = {
  async run(file, args, options = {}) {
    const result = await ownChild(
      execa(file, [...args], {
        ...OWNED_CHILD_OPTIONS,
        reject: false,
        timeout: options.timeoutMs ?? 60_000,
        ...(options.input === undefined ? { stdin: 'ignore' as const } : { input: options.input }),
        ...(options.env === undefined ? {} : { env: options.env, extendEnv: true }),
        stripFinalNewline: false,
      }),
    );
    const missing = result.failed && (result.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
    return {
      exitCode: missing ? 127 : (result.exitCode ?? (result.timedOut ? 124 : 1)),
      stdout: String(result.stdout ?? ''),
      stderr: missing
        ? `${file}: not found`
        : String(result.stderr ?? '') || (result.timedOut ? `${file}: timed out` : ''),
    };
  },
};
