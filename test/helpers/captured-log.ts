import { createLogger } from '../../src/host/logger.js';

/** One JSON log line as the logger wrote it. */
export interface LogRecord {
  readonly level: number;
  readonly msg: string;
  readonly [field: string]: unknown;
}

/**
 * The project's JSON logger writing into memory, so a test asserts on what an operator would read:
 * `records` are the parsed lines and `messages` their `msg`, both growing as the code under test logs.
 */
export function capturedLog(): {
  log: ReturnType<typeof createLogger>;
  records: LogRecord[];
  messages: string[];
} {
  const records: LogRecord[] = [];
  const messages: string[] = [];
  const write = (chunk: string): void => {
    for (const line of chunk.split('\n').filter(Boolean)) {
      const record = JSON.parse(line) as LogRecord;
      records.push(record);
      messages.push(record.msg);
    }
  };
  return { log: createLogger('info', 'json', false, { write }), records, messages };
}
