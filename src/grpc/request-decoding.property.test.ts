import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import fc from 'fast-check';
import { StreamingServiceService, StreamRequest } from '../gen/streaming.js';
import { hardwareIdProblem, isBase64, validateStreamRequest, type StreamInput } from '../protocol/validation.js';
import { tolerantDefinition, undecodable, UndecodableRequest } from './tolerant-decode.js';

// Property tests of request decoding and validation: whatever the bytes or the fields, nothing
// throws, and every refusal names its field (the bad-input log and the client rely on that).
const service = tolerantDefinition(StreamingServiceService);
const methods = Object.values(service);

/** Valid StreamRequest bytes, then mutated: bytes flipped, cut short, or spliced with garbage. */
const validBytes = fc
  .record({ prompt: fc.string(), hardwareId: fc.string({ maxLength: 20 }), sessionId: fc.string({ maxLength: 20 }), phase: fc.integer({ min: -1, max: 5 }), chunkSeq: fc.integer() })
  .map((r) => Buffer.from(StreamRequest.encode({ ...r, phase: r.phase as never }).finish()));
const mutated = fc.tuple(validBytes, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat({ max: 8 })).map(([bytes, at, value, cut]) => {
  const copy = Buffer.from(bytes);
  if (copy.length > 0) copy[at % copy.length] = value;
  return copy.subarray(0, Math.max(0, copy.length - cut));
});
const anyBytes = fc.oneof(fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)), validBytes, mutated);

test('decoding: no bytes make a request deserializer throw; what does not parse is marked', () => {
  fc.assert(
    fc.property(anyBytes, fc.constantFrom(...methods), (bytes, method) => {
      const request = method.requestDeserialize(bytes);
      const bad = undecodable(request);
      if (bad) {
        assert.ok(bad instanceof UndecodableRequest && bad.reason.length <= 80 && bad.bytes === bytes.length);
      } else {
        assert.equal(typeof request, 'object');
      }
    }),
    { numRuns: 1000 },
  );
});

const limits = { maxPromptChars: 200, screenshotMaxBytes: 4096, maxScreenDimension: 16384 };
const idLike = fc.oneof(fc.string({ maxLength: 140 }), fc.stringMatching(/^[A-Za-z0-9._:-]{1,128}$/), fc.constantFrom('', 'unknown', ' '));
const streamInput: fc.Arbitrary<StreamInput> = fc.record(
  {
    prompt: fc.string({ unit: 'grapheme', maxLength: 250 }),
    screenshot: fc.oneof(fc.string({ maxLength: 64 }), fc.base64String({ maxLength: 64 }), fc.constant('')),
    screenWidth: fc.oneof(fc.integer({ min: -5, max: 20000 }), fc.double()),
    screenHeight: fc.integer({ min: -5, max: 20000 }),
    hardwareId: idLike,
    sessionId: idLike,
    phase: fc.integer({ min: -3, max: 5 }),
    chunkSeq: fc.oneof(fc.integer(), fc.double()),
    chunkText: fc.string({ maxLength: 250 }),
  },
  { requiredKeys: ['prompt', 'hardwareId', 'sessionId', 'phase', 'chunkSeq'] },
);
const FIELDS = /^(hardware_id|session_id|phase|prompt|chunk_text|chunk_seq|screen_width|screen_height|screenshot) /;

test('validation: never throws; a refusal lists problems that each start with their field; a pass obeys every rule', () => {
  fc.assert(
    fc.property(streamInput, (input) => {
      const result = validateStreamRequest(input, 'effective-id', limits);
      if (!result.ok) {
        assert.ok(result.problems.length > 0);
        for (const p of result.problems) assert.match(p, FIELDS);
        return;
      }
      const v = result.value;
      assert.equal(hardwareIdProblem(v.hardwareId), undefined);
      assert.ok(v.prompt.length <= limits.maxPromptChars && v.piece.length <= limits.maxPromptChars);
      assert.ok(Number.isInteger(v.chunkSeq) && v.chunkSeq >= 0);
      assert.ok(v.phase === 'collect' ? input.phase === 1 && input.sessionId !== '' : input.phase === 0 || input.phase === 2);
      if (v.screenshot) assert.ok(v.screenshot.bytes <= limits.screenshotMaxBytes);
    }),
    { numRuns: 1000 },
  );
});

test('base64: whatever Buffer encodes is accepted, with or without padding; anything accepted uses only the alphabet', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 100 }), fc.string({ maxLength: 40 }), (bytes, text) => {
      const encoded = Buffer.from(bytes).toString('base64');
      assert.ok(isBase64(encoded));
      assert.ok(isBase64(encoded.replace(/=+$/, '')));
      if (isBase64(text)) assert.match(text, /^[A-Za-z0-9+/]*={0,2}$/);
    }),
    { numRuns: 1000 },
  );
});
