import { strict as assert } from 'node:assert';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import { captureLog } from '../../test/support/log-capture.js';
import { installProcessGuards } from './process-guards.js';

test('an unhandled rejection is logged as an internal error with its stack and counted; the server goes on', () => {
  const proc = new EventEmitter();
  const { records: lines, logger } = captureLog();
  let internal = 0;
  const fatal: number[] = [];
  installProcessGuards(proc, logger, { onInternalError: () => internal++, onFatal: (code) => fatal.push(code) });
  proc.emit('unhandledRejection', new Error('forgotten promise'));
  assert.equal(internal, 1);
  assert.deepEqual(fatal, []);
  assert.equal(lines[0].level, 'error');
  assert.equal(lines[0].kind, 'internal');
  assert.match(String((lines[0].err as { stack: string }).stack), /forgotten promise/);
});

test('an uncaught exception is logged as fatal and drains once, however many follow', () => {
  const proc = new EventEmitter();
  const { records: lines, logger } = captureLog();
  const fatal: number[] = [];
  const uninstall = installProcessGuards(proc, logger, { onFatal: (code) => fatal.push(code) });
  proc.emit('uncaughtException', new Error('boom'));
  proc.emit('uncaughtException', new Error('boom again'));
  assert.deepEqual(fatal, [1]);
  assert.deepEqual(lines.map((l) => l.level), ['fatal', 'fatal']);
  uninstall();
  assert.equal(proc.listenerCount('unhandledRejection') + proc.listenerCount('uncaughtException'), 0);
});
