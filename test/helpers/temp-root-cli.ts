import { execFile } from 'node:child_process';
import path from 'node:path';
import { samplePayload } from './sample-payload.js';

const CLI = path.resolve(import.meta.dirname, '../../dist/cli/main.js');

/** One CLI run's outcome. */
export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs the built CLI against a temp host root as a node without a running runtime (KVM check and
 * restart off), with the sample payload and the qemu + clh shims: the file work is what is tested.
 */
export function onTempRoot(
  root: string,
  command: string,
  extra: readonly string[] = [],
  env: Record<string, string> = {},
): Promise<CliRun> {
  const args = [CLI, command, '--host-root', root, '--payload', samplePayload(), '--shims', 'qemu clh'];
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...args, '--restart', 'none', ...extra],
      { env: { PATH: process.env.PATH ?? '', LOG_FORMAT: 'json', KATA_REQUIRE_KVM: 'false', ...env } },
      (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : ((error as { code?: number }).code ?? 1), stdout, stderr });
      },
    );
  });
}
