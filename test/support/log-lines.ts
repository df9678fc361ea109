import { Writable } from 'node:stream';

/** A stream for `createLogger(level, sink)` that keeps every JSON line written to it. */
export function logSink(): { written: string[]; sink: Writable } {
  const written: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, next) {
      written.push(...chunk.toString().split('\n').filter((l) => l !== ''));
      next();
    },
  });
  return { written, sink };
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
