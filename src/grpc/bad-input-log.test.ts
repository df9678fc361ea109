import { strict as assert } from 'node:assert';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createLogger } from '../observability/logger.js';
import { floodOneWindow, logSink } from '../../test/support/log-lines.js';
import { BadInputLog } from './bad-input-log.js';

function capture(): { lines: Array<Record<string, unknown>>; sink: Writable } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, next) {
      for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
      next();
    },
  });
  return { lines, sink };
}

test('bad input: at most maxPerInterval lines per interval; the next line written counts those left out', () => {
  const { lines, sink } = capture();
  let now = 0;
  const log = new BadInputLog(createLogger('info', sink), { maxPerInterval: 2, intervalMs: 1000, now: () => now });
  for (let i = 0; i < 5; i++) log.log({ rid: `r${i}`, rpc: 'StreamAudio', reason: 'invalid request: prompt is longer than 10 characters' });
  assert.deepEqual(lines.map((l) => l.rid), ['r0', 'r1']);
  now = 1000;
  log.log({ rid: 'r5', rpc: 'ReportUsage', reason: 'invalid request: hardware_id is required' });
  assert.equal(lines.length, 3);
  assert.deepEqual(
    { rid: lines[2].rid, rpc: lines[2].rpc, field: lines[2].field, suppressed: lines[2].suppressed, level: lines[2].level },
    { rid: 'r5', rpc: 'ReportUsage', field: 'hardware_id', suppressed: 3, level: 'info' },
  );
});

test('bad input: a long reason is cut, so a line stays short', () => {
  const { lines, sink } = capture();
  const log = new BadInputLog(createLogger('info', sink), { maxPerInterval: 10, intervalMs: 1000 });
  log.log({ rid: 'r', rpc: 'StreamAudio', reason: `invalid request: ${'x'.repeat(5000)}` });
  assert.ok(Buffer.byteLength(JSON.stringify(lines[0].reason)) <= 66);
  assert.equal(lines[0].field, undefined, 'no field named: none invented');
});

test('bad input: the longest line possible stays within 300 bytes', () => {
  const { written, sink } = logSink();
  let now = 0;
  const log = new BadInputLog(createLogger('info', sink), { maxPerInterval: 1, intervalMs: 1, now: () => now });
  const worst = { rid: '00000000-0000-4000-8000-000000000000', rpc: 'GenerateWelcomeAudio', reason: `${'f'.repeat(20)} ${'é\u0001"'.repeat(500)}` };
  // A long flood in one window: the next line carries a seven-digit count.
  floodOneWindow(() => log.log(worst), () => (now = 10));
  assert.equal(written.length, 2);
  assert.equal(JSON.parse(written[1]).suppressed, 1_000_000);
  for (const line of written) assert.ok(Buffer.byteLength(line) + 1 <= 300, `${Buffer.byteLength(line)} bytes: ${line}`);
});
