import type { SupervisorLog } from './daemon-supervisor.js';

const LEVELS: Readonly<Record<string, number>> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  silent: Number.POSITIVE_INFINITY,
};

/** How the phase child's settings say the daemon logs: the level, and JSON lines or human ones. */
export interface SupervisorLogFormat {
  readonly level: string;
  readonly json: boolean;
}

function humanLine(time: Date, label: string, fields: object, message: string): string {
  const clock = time.toTimeString().slice(0, 8);
  const millis = String(time.getMilliseconds()).padStart(3, '0');
  const extra = Object.entries(fields).map(([key, value]) => `\n    ${key}: ${JSON.stringify(value)}`);
  return `[${clock}.${millis}] ${label}: ${message}${extra.join('')}\n`;
}

/**
 * The supervisor's own few log lines on stderr, in the shape the phase children's pino writes them (JSON:
 * numeric level, ISO time, the fields, msg; or a human line), so one stream reads as one log. Not pino:
 * the idle daemon would keep pino and its worker-thread transport loaded for four lines.
 */
export function supervisorLog(
  format: SupervisorLogFormat,
  write: (line: string) => void = (line) => process.stderr.write(line),
): SupervisorLog {
  const threshold = LEVELS[format.level] ?? LEVELS.info!;
  const emit = (level: number, label: string, fields: object, message: string): void => {
    if (level < threshold) return;
    const time = new Date();
    write(
      format.json
        ? `${JSON.stringify({ level, time: time.toISOString(), ...fields, msg: message })}\n`
        : humanLine(time, label, fields, message),
    );
  };
  return {
    info: (fields, message) => emit(30, 'INFO', fields, message),
    error: (fields, message) => emit(50, 'ERROR', fields, message),
  };
}
