import { spawn } from 'node:child_process';
import { EXIT_CODES, KataDeployError, type ErrorCode } from '../core/errors.js';
import { unexpectedRunFailure } from '../core/host-error.js';
import { ownChild } from '../host/owned-children.js';
import type { DaemonStart, InstallPhaseEnd, InstallPhaseResult } from './daemon-supervisor.js';
import { supervisorLog, type SupervisorLogFormat } from './daemon-supervisor-log.js';
import type { DaemonExit } from './daemon-types.js';

/** The two phases of `kata-deploy daemon` that run in a short-lived child of the idle daemon. */
export type DaemonPhase = 'install' | 'teardown';

/** Set in a phase child's environment; its value names the phase. The CLI entry routes on it. */
export const DAEMON_PHASE_ENV = 'KATA_DEPLOY_DAEMON_PHASE';

/** The phase this process runs as a child of the daemon, or undefined for any other run. */
export function daemonPhaseFromEnv(env: NodeJS.ProcessEnv = process.env): DaemonPhase | undefined {
  const value = env[DAEMON_PHASE_ENV];
  if (value === undefined) return undefined;
  if (value === 'install' || value === 'teardown') return value;
  throw new KataDeployError('usage', `${DAEMON_PHASE_ENV}=${value} is not a phase of kata-deploy daemon`, {
    hint: `unset ${DAEMON_PHASE_ENV}: the daemon sets it (install or teardown) for the children it starts`,
  });
}

type PhaseResult = InstallPhaseResult | DaemonExit;

/**
 * The messages on the IPC channel, plain JSON. The child sends `start` once its settings are parsed (where
 * to serve health, how to log) and waits for `go`; then `result`, an error as code, message and hint.
 */
export type PhaseMessage =
  | { readonly kataDeployDaemon: 'start'; readonly healthPort: number; readonly log: SupervisorLogFormat }
  | { readonly kataDeployDaemon: 'go'; readonly go: boolean }
  | {
      readonly kataDeployDaemon: 'result';
      readonly kind: PhaseResult['kind'];
      readonly reason?: string;
      readonly error?: { readonly code: ErrorCode; readonly message: string; readonly hint?: string };
    };

/** The `result` message for a phase's result. */
export function resultMessage(result: PhaseResult): PhaseMessage {
  const error = 'error' in result ? result.error : undefined;
  const wire =
    error === undefined
      ? undefined
      : { code: error.code, message: error.message, ...(error.hint === undefined ? {} : { hint: error.hint }) };
  return {
    kataDeployDaemon: 'result',
    kind: result.kind,
    ...('reason' in result ? { reason: result.reason } : {}),
    ...(wire === undefined ? {} : { error: wire }),
  };
}

const PHASE_KINDS: Readonly<Record<DaemonPhase, readonly PhaseResult['kind'][]>> = {
  install: ['ready', 'install-failed'],
  teardown: ['left-installed', 'uninstalled', 'uninstall-failed'],
};
const ERROR_CODES = new Set<string>(Object.keys(EXIT_CODES));

function decodeResult(phase: DaemonPhase, message: Extract<PhaseMessage, { kataDeployDaemon: 'result' }>) {
  if (!PHASE_KINDS[phase].includes(message.kind)) return undefined;
  if (message.kind === 'ready') return { kind: 'ready' } as const;
  if (message.kind === 'install-failed' || message.kind === 'uninstall-failed') {
    const wire = message.error;
    if (wire === undefined || !ERROR_CODES.has(wire.code)) return undefined;
    const error = new KataDeployError(wire.code, wire.message, wire.hint === undefined ? {} : { hint: wire.hint });
    return { kind: message.kind, error };
  }
  return { kind: message.kind, reason: message.reason ?? '' };
}

/** A child that ended without a result: its exit status keeps its meaning (README "Exit codes"). */
function endedWithoutResult(phase: DaemonPhase, pid: number | undefined, code: number | null, signal: string | null) {
  const known = Object.entries(EXIT_CODES).find(([, exit]) => exit === code && exit !== EXIT_CODES.internal);
  const how = signal === null ? `exited ${code}` : `was killed by ${signal}`;
  const error = new KataDeployError(
    (known?.[0] ?? 'internal') as ErrorCode,
    `the daemon's ${phase} child (pid ${pid}) ${how} without a result`,
    { hint: 'its log lines above say why; the next start of the daemon converges whatever it left half done' },
  );
  return phase === 'install'
    ? ({ kind: 'install-failed', error } as const)
    : ({ kind: 'uninstall-failed', error } as const);
}

/**
 * How to start this program again: node and the entry script, or, in the standalone binary (a Node
 * single executable application), the binary alone, which is its own entry point.
 */
export function selfCommand(): readonly string[] {
  const sea = process.getBuiltinModule('node:sea') as { isSea(): boolean } | undefined;
  return sea?.isSea() === true ? [process.execPath] : [process.execPath, process.argv[1]!];
}

/**
 * Runs one phase in a child started with the daemon's own arguments, owned (killed if the daemon exits)
 * and writing to the daemon's stdout and stderr. `start` answers the child's `start` message; a child
 * that ends before sending one (`--help`, a usage error) ends the daemon with its exit status.
 */
function runPhaseInChild(
  phase: DaemonPhase,
  argv: readonly string[],
  self: readonly string[],
  start: (setup: DaemonStart) => Promise<boolean>,
): Promise<InstallPhaseEnd | DaemonExit> {
  const [file, ...entry] = self;
  const child = ownChild(
    spawn(file!, [...entry, ...argv], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, [DAEMON_PHASE_ENV]: phase },
    }),
  );
  return new Promise((resolve, reject) => {
    let started = false;
    let wentAhead = false;
    let startFailure: unknown;
    let result: PhaseResult | undefined;
    const answer = (go: boolean): void => {
      wentAhead = go;
      if (child.connected) child.send({ kataDeployDaemon: 'go', go } satisfies PhaseMessage);
    };
    child.on('message', (message: PhaseMessage) => {
      if (message.kataDeployDaemon === 'start' && !started) {
        started = true;
        start({ healthPort: message.healthPort, log: supervisorLog(message.log) }).then(answer, (error: unknown) => {
          startFailure = error;
          answer(false);
        });
      } else if (message.kataDeployDaemon === 'result') result ??= decodeResult(phase, message);
    });
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (startFailure !== undefined)
        resolve({ kind: 'install-failed', error: unexpectedRunFailure('daemon', startFailure) });
      else if (!started && phase === 'install') resolve({ kind: 'not-started', exitCode: code ?? EXIT_CODES.internal });
      else if (started && !wentAhead && phase === 'install') resolve({ kind: 'skipped' });
      else resolve(result ?? endedWithoutResult(phase, child.pid, code, signal));
    });
  });
}

const goAhead = async (): Promise<boolean> => true;

/** The install phase in a child; its exit frees everything the install loaded. */
export function installInChild(
  argv: readonly string[],
  start: (setup: DaemonStart) => Promise<boolean>,
  self = selfCommand(),
): Promise<InstallPhaseEnd> {
  return runPhaseInChild('install', argv, self, start) as Promise<InstallPhaseEnd>;
}

/** The teardown decision (and the uninstall, if it comes to that) in a child, like the install. */
export function teardownInChild(argv: readonly string[], self = selfCommand()): Promise<DaemonExit> {
  return runPhaseInChild('teardown', argv, self, goAhead) as Promise<DaemonExit>;
}
