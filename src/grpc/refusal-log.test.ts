import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { captureLog, floodOneWindow } from '../../test/support/log-capture.js';
import { isRefusal, RefusalLog } from './refusal-log.js';

test('refusals: a limit and a device token refuse; other kinds are not refusals', () => {
  assert.deepEqual(
    (['limit', 'unauthenticated', 'denied', 'bad_input', 'unavailable', 'timeout', 'conflict', 'internal'] as const).filter(isRefusal),
    ['limit', 'unauthenticated', 'denied'],
  );
});

test('refusals: at most maxPerInterval info lines per interval; the next line written counts those left out', () => {
  const { lines: written, logger } = captureLog();
  let now = 0;
  const log = new RefusalLog(logger, { maxPerInterval: 2, intervalMs: 1000, now: () => now });
  const reason = 'too many COMMIT requests from this address: try again in 3 s';
  for (let i = 0; i < 5; i++) log.log({ rid: `r${i}`, rpc: 'StreamAudio', kind: 'limit', reason });
  assert.deepEqual(written.map((l) => JSON.parse(l).rid), ['r0', 'r1']);
  now = 1000;
  log.log({ rid: 'r5', rpc: 'InterruptSession', kind: 'unauthenticated', reason: 'the device token is not valid (unknown or revoked)' });
  const last = JSON.parse(written[2]) as Record<string, unknown>;
  assert.deepEqual(
    { rid: last.rid, rpc: last.rpc, kind: last.kind, suppressed: last.suppressed, level: last.level, msg: last.msg },
    { rid: 'r5', rpc: 'InterruptSession', kind: 'unauthenticated', suppressed: 3, level: 'info', msg: 'request refused' },
  );
  assert.equal(JSON.parse(written[0]).reason, reason, 'a reason this short is kept whole');
});

test('refusals: the longest line possible stays within 300 bytes', () => {
  const { lines: written, logger } = captureLog();
  let now = 0;
  const log = new RefusalLog(logger, { maxPerInterval: 1, intervalMs: 1, now: () => now });
  const worst = { rid: '00000000-0000-4000-8000-000000000000', rpc: 'GenerateWelcomeAudio', kind: 'unauthenticated' as const, reason: 'é\u0001"'.repeat(500) };
  floodOneWindow(() => log.log(worst), () => (now = 10));
  assert.equal(written.length, 2);
  assert.equal(JSON.parse(written[1]).suppressed, 1_000_000);
  for (const line of written) assert.ok(Buffer.byteLength(line) + 1 <= 300, `${Buffer.byteLength(line)} bytes: ${line}`);
});
