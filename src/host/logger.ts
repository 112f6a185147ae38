import { pino, type DestinationStream } from 'pino';
import type { LogFormat, LogLevel } from '../settings/settings.js';

/** The logging port: pino's leveled methods and child loggers, so tests can hand in a capturing logger. */
export type Logger = Pick<pino.Logger, 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'child' | 'level'>;

/**
 * At debug and trace, each line also carries `atMs`, the milliseconds since the process started: a run's phase
 * timestamps, which the payload bench prints (BENCH_DEBUG_LOG=1) without a profiler.
 */
function sinceStart(level: LogLevel): Pick<pino.LoggerOptions, 'mixin'> {
  if (level !== 'debug' && level !== 'trace') return {};
  return { mixin: () => ({ atMs: Math.round(performance.now()) }) };
}

/**
 * JSON lines on stderr for machines (DaemonSet logs), colourised human lines when a person is watching.
 * stdout stays free for `--json` results.
 */
export function createLogger(
  level: LogLevel,
  format: LogFormat | undefined,
  isTty: boolean,
  destination?: DestinationStream,
): Logger {
  const pretty = format === 'pretty' || (format === undefined && isTty);
  if (destination !== undefined) return pino({ level, base: undefined }, destination);
  if (pretty) {
    return pino({
      level,
      base: undefined,
      transport: {
        target: 'pino-pretty',
        options: { destination: 2, colorize: isTty, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' },
      },
    });
  }
  return pino(
    { level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime, ...sinceStart(level) },
    pino.destination({ fd: 2, sync: true }),
  );
}

/** A logger that drops everything; for library callers and tests that do not look at logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
