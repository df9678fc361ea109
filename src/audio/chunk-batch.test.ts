import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { ChunkBatch } from './chunk-batch.js';

const chunk = (bytes: number, id: number) => ({ data: new Uint8Array(bytes), id });
type Chunk = ReturnType<typeof chunk>;

function recorder(batchBytes: number) {
  const sent: number[][] = [];
  const batch = new ChunkBatch<Chunk>(batchBytes, (chunks) => sent.push(chunks.map((c) => c.id)));
  return { batch, sent };
}

describe('ChunkBatch', () => {
  test('the first chunks go at once, the next in batches of at least batchBytes, the rest at the end, all in order', () => {
    const { batch, sent } = recorder(8192);
    batch.add([]);
    assert.deepEqual(sent, [], 'nothing to send yet');
    batch.add([chunk(4096, 1)]);
    assert.deepEqual(sent, [[1]], "the job's first chunk does not wait");
    batch.add([chunk(4096, 2)]);
    assert.deepEqual(sent, [[1]]);
    batch.add([chunk(4096, 3), chunk(4096, 4)]);
    assert.deepEqual(sent, [[1], [2, 3, 4]]);
    batch.add([chunk(4096, 5)]);
    batch.end([chunk(100, 6)]);
    assert.deepEqual(sent, [[1], [2, 3, 4], [5, 6]]);
  });

  test('an end with nothing held sends nothing; an end with chunks of its own sends them', () => {
    const { batch, sent } = recorder(8192);
    batch.add([chunk(4096, 1), chunk(4096, 2)]);
    batch.end([]);
    assert.deepEqual(sent, [[1, 2]]);
    const other = recorder(8192);
    other.batch.end([chunk(10, 1)]);
    assert.deepEqual(other.sent, [[1]]);
  });

  test('batchBytes 0: every call with chunks sends them', () => {
    const { batch, sent } = recorder(0);
    batch.add([chunk(4096, 1)]);
    batch.add([chunk(4096, 2), chunk(10, 3)]);
    batch.add([]);
    batch.end([]);
    assert.deepEqual(sent, [[1], [2, 3]]);
  });
});
