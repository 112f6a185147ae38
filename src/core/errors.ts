/**
 * Why an operation failed, as a stable word. Each code maps to one exit status so scripts and
 * DaemonSet probes can tell "fix your settings" from "your node cannot run VMs" without parsing text.
 */
export type ErrorCode =
  | 'usage'
  | 'node-unsupported'
  | 'bad-payload'
  | 'config-refused'
  | 'restart-failed'
  | 'kube-api'
  | 'internal';

/** The documented exit statuses (README "Exit codes"); changing one breaks operators' scripts. */
export const EXIT_CODES: Readonly<Record<ErrorCode, number>> = Object.freeze({
  usage: 2,
  'node-unsupported': 3,
  'bad-payload': 4,
  'config-refused': 5,
  'restart-failed': 6,
  'kube-api': 7,
  internal: 1,
});

/**
 * The one error type the program raises on purpose: a code for the exit status, a message naming the
 * file, field or variable at fault, and a hint telling the operator what to do about it.
 */
export class KataDeployError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KataDeployError';
    this.code = code;
    this.hint = options.hint;
  }

  get exitCode(): number {
    return EXIT_CODES[this.code];
  }
}

/** Turns anything thrown into a KataDeployError so the CLI has one shape to report and exit with. */
export function asKataDeployError(error: unknown): KataDeployError {
  if (error instanceof KataDeployError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new KataDeployError('internal', `unexpected failure: ${message}`, {
    hint: 'this is a bug in kata-deploy; rerun with --log-level debug and report the output',
    cause: error,
  });
}
