import { pino } from 'pino';
import { prettyFactory } from 'pino-pretty';
import type { LogLevel } from '../settings/settings.js';
import type { Logger } from './logger.js';

/**
 * Human log lines formatted on the main thread and handed to `out` synchronously, one write per line.
 * For a terminal that also shows a progress line: pino's usual pretty transport writes from a worker
 * thread straight to fd 2, in the middle of whatever the progress line drew; here the progress renderer
 * decides where each line goes (above the progress line, which it then redraws).
 */
export function prettyLogger(level: LogLevel, out: { write(text: string): unknown }): Logger {
  const prettify = prettyFactory({ colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' });
  return pino({ level, base: undefined }, { write: (line: string) => void out.write(prettify(line)) });
}
