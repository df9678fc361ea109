import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { AppError, errorKinds } from '../errors.js';
import { clientMessage, statusForKind } from './status-map.js';

/** The status map of docs/PROTOCOL.md, by the statuses' wire names. */
const expected: ReadonlyArray<readonly [string, string]> = [
  ['bad_input', 'INVALID_ARGUMENT'],
  ['conflict', 'ABORTED'],
  ['limit', 'RESOURCE_EXHAUSTED'],
  ['unavailable', 'UNAVAILABLE'],
  ['timeout', 'DEADLINE_EXCEEDED'],
  ['denied', 'PERMISSION_DENIED'],
  ['unauthenticated', 'UNAUTHENTICATED'],
  ['interrupted', 'CANCELLED'],
  ['internal', 'INTERNAL'],
];

test('every error kind has a status', () => {
  assert.deepEqual(expected.map(([kind]) => kind), [...errorKinds]);
});

for (const kind of errorKinds) {
  const name = expected.find(([k]) => k === kind)?.[1];
  test(`kind ${kind} maps to ${name}`, () => {
    assert.equal(status[statusForKind(kind)], name);
  });
}

test('internal errors never show their text to the client', () => {
  assert.equal(clientMessage(new AppError('internal', 'db exploded at /var/lib/x')), 'internal error');
  assert.equal(clientMessage(new AppError('limit', 'too many streams')), 'too many streams');
});
