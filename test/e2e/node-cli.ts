import path from 'node:path';
import type { RunResult, ThrowawayNode } from '../helpers/throwaway-node/node.mjs';

const CLI = path.resolve(import.meta.dirname, '../../dist/cli/main.js');

/** What one e2e CLI run inside a throwaway node needs to know. */
export interface NodeCliOptions {
  readonly payload: string;
  readonly containerd: string;
  readonly shims?: string;
  readonly env?: Record<string, string>;
  /** The command that runs kata-deploy (default: this Node and dist/cli/main.js). */
  readonly cli?: readonly string[];
}

/**
 * Runs `kata-deploy <command>` inside the node, pointed at the node's systemd socket and the containerd
 * binary its unit runs, with JSON logs so failures can be read in the test output.
 */
export function nodeCli(
  node: ThrowawayNode,
  options: NodeCliOptions,
  command: string,
  extra: readonly string[] = [],
  env: Record<string, string> = {},
): Promise<RunResult> {
  return node.run(
    [
      ...(options.cli ?? [process.execPath, CLI]),
      command,
      '--systemd-socket',
      node.systemdSocket,
      '--payload',
      options.payload,
      '--shims',
      options.shims ?? 'qemu clh',
      '--containerd-binary',
      options.containerd,
      '--log-format',
      'json',
      '--readiness-timeout',
      '30',
      ...extra,
    ],
    { env: { ...options.env, ...env }, timeoutMs: 120_000 },
  );
}

/** The log lines of a run, as `level msg`, for assertion messages. */
export function logOf(run: RunResult): string {
  return run.stderr
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      try {
        const entry = JSON.parse(line) as { level: number; msg: string };
        return `${entry.level} ${entry.msg}`;
      } catch {
        return line;
      }
    })
    .join('\n');
}
