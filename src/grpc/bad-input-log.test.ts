import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { captureLog, floodOneWindow } from '../../test/support/log-capture.js';
import { BadInputLog } from './bad-input-log.js';

test('bad input: at most maxPerInterval lines per interval; the next line written counts those left out', () => {
  const { records: lines, logger } = captureLog();
  let now = 0;
  const log = new BadInputLog(logger, { maxPerInterval: 2, intervalMs: 1000, now: () => now });
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
  const { records: lines, logger } = captureLog();
  const log = new BadInputLog(logger, { maxPerInterval: 10, intervalMs: 1000 });
  log.log({ rid: 'r', rpc: 'StreamAudio', reason: `invalid request: ${'x'.repeat(5000)}` });
  assert.ok(Buffer.byteLength(JSON.stringify(lines[0].reason)) <= 66);
  assert.equal(lines[0].field, undefined, 'no field named: none invented');
});

test('bad input: the longest line possible stays within 300 bytes', () => {
  const { lines: written, logger } = captureLog();
  let now = 0;
  const log = new BadInputLog(logger, { maxPerInterval: 1, intervalMs: 1, now: () => now });
  const worst = { rid: '00000000-0000-4000-8000-000000000000', rpc: 'GenerateWelcomeAudio', reason: `${'f'.repeat(20)} ${'é\u0001"'.repeat(500)}` };
  // A long flood in one window: the next line carries a seven-digit count.
  floodOneWindow(() => log.log(worst), () => (now = 10));
  assert.equal(written.length, 2);
  assert.equal(JSON.parse(written[1]).suppressed, 1_000_000);
  for (const line of written) assert.ok(Buffer.byteLength(line) + 1 <= 300, `${Buffer.byteLength(line)} bytes: ${line}`);
});
