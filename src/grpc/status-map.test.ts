import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { AppError, errorKinds } from '../errors.js';
import { clientMessage, statusForKind } from './status-map.js';

const expected: Record<string, status> = {
  bad_input: status.INVALID_ARGUMENT,
  conflict: status.ABORTED,
  limit: status.RESOURCE_EXHAUSTED,
  unavailable: status.UNAVAILABLE,
  timeout: status.DEADLINE_EXCEEDED,
  denied: status.PERMISSION_DENIED,
  unauthenticated: status.UNAUTHENTICATED,
  interrupted: status.CANCELLED,
  internal: status.INTERNAL,
};

for (const kind of errorKinds) {
  test(`kind ${kind} maps to ${status[expected[kind]]}`, () => {
    assert.equal(statusForKind(kind), expected[kind]);
  });
}

test('internal errors never show their text to the client', () => {
  assert.equal(clientMessage(new AppError('internal', 'db exploded at /var/lib/x')), 'internal error');
  assert.equal(clientMessage(new AppError('limit', 'too many streams')), 'too many streams');
});
