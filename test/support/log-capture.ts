import { Writable } from 'node:stream';
import type { Logger } from 'pino';
import { createLogger } from '../../src/observability/logger.js';

/** One log line, parsed. */
export type LogRecord = Record<string, unknown>;

/**
 * The server's logger at `level`, writing into memory: `lines` holds each line as written,
 * `records` the same lines parsed; `onRecord` sees each parsed line as it comes.
 */
export function captureLog(level = 'info', onRecord?: (record: LogRecord) => void): { logger: Logger; lines: string[]; records: LogRecord[] } {
  const lines: string[] = [];
  const records: LogRecord[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, next) {
      for (const line of chunk.toString().split('\n')) {
        if (line === '') continue;
        const record = JSON.parse(line) as LogRecord;
        lines.push(line);
        records.push(record);
        onRecord?.(record);
      }
      next();
    },
  });
  return { logger: createLogger(level, sink), lines, records };
}

/**
 * The worst case of a rate-limited line (a window of one line): `write` once, a million more
 * times in the same window, then once after `nextWindow`, so that the last line carries a
 * seven-digit `suppressed` count.
 */
export function floodOneWindow(write: () => void, nextWindow: () => void): void {
  write();
  for (let i = 0; i < 1_000_000; i++) write();
  nextWindow();
  write();
}
