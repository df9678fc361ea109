import { strict as assert } from 'node:assert';
import { before, test } from 'node:test';
import { makePng, makeWebp } from '../../test/support/images.js';
import { hardwareIdProblem, isBase64, sessionIdProblem, validateStreamRequest, type StreamInput } from './validation.js';
import { readWebp } from './webp.js';

const limits = { maxPromptChars: 100, screenshotMaxBytes: 64 * 1024, maxScreenDimension: 16384 };
const HW = '0B8F1C2D-3E4F-5A6B-7C8D-9E0F1A2B3C4D';
const base: StreamInput = { prompt: 'hello', hardwareId: HW, sessionId: '', phase: 2, chunkSeq: 0 };

let lossy: Buffer;
let lossless: Buffer;
let extended: Buffer;
before(async () => {
  lossy = await makeWebp(320, 200);
  lossless = await makeWebp(64, 48, { lossless: true });
  extended = await makeWebp(50, 40, { alpha: true });
});

function problems(input: Partial<StreamInput>): string[] {
  const result = validateStreamRequest({ ...base, ...input }, 'sid', limits);
  return result.ok ? [] : result.problems;
}

const hardwareIds: Array<[string, boolean]> = [
  [HW, true],
  ['mac-01.office:7', true],
  ['a'.repeat(128), true],
  ['', false],
  ['   ', false],
  ['unknown', false],
  ['UNKNOWN', false],
  ['Unknown', false],
  ['a'.repeat(129), false],
  ['has space', false],
  ['slash/no', false],
  ['кириллица', false],
  ['semi;colon', false],
];
for (const [id, valid] of hardwareIds) {
  test(`hardware_id ${JSON.stringify(id.length > 20 ? `${id.slice(0, 8)}…(${id.length})` : id)} is ${valid ? 'valid' : 'invalid'}`, () => {
    assert.equal(hardwareIdProblem(id) === undefined, valid);
  });
}

test('session_id: the same alphabet and length rule', () => {
  assert.equal(sessionIdProblem('3f1e2d4c-aaaa-4bbb-8ccc-123456789abc'), undefined);
  assert.match(sessionIdProblem('x'.repeat(129)) ?? '', /session_id/);
  assert.match(sessionIdProblem('bad id') ?? '', /session_id/);
});

test('a valid COMMIT passes and keeps its fields', () => {
  const result = validateStreamRequest({ ...base, chunkText: '' }, 'sid', limits);
  assert.ok(result.ok);
  assert.equal(result.value.phase, 'commit');
  assert.equal(result.value.piece, 'hello');
  assert.equal(result.value.sessionId, 'sid');
});

test('phase 0 (old clients) is COMMIT, 1 is COLLECT, anything else is refused', () => {
  const zero = validateStreamRequest({ ...base, phase: 0 }, 'sid', limits);
  assert.ok(zero.ok && zero.value.phase === 'commit');
  const collect = validateStreamRequest({ ...base, phase: 1, sessionId: 's1' }, 's1', limits);
  assert.ok(collect.ok && collect.value.phase === 'collect');
  assert.match(problems({ phase: 3 }).join(), /phase/);
  assert.match(problems({ phase: -1 }).join(), /phase/);
});

test('COLLECT needs a session_id', () => {
  assert.match(problems({ phase: 1 }).join(), /session_id is required/);
});

test('chunk_text is the piece when set, the prompt otherwise', () => {
  const result = validateStreamRequest({ ...base, phase: 1, sessionId: 's', prompt: '', chunkText: 'what is' }, 's', limits);
  assert.ok(result.ok);
  assert.equal(result.value.piece, 'what is');
});

test('prompt and chunk_text longer than the limit are refused', () => {
  assert.match(problems({ prompt: 'x'.repeat(101) }).join(), /prompt is longer than 100/);
  assert.match(problems({ chunkText: 'x'.repeat(101) }).join(), /chunk_text is longer/);
  assert.deepEqual(problems({ prompt: 'x'.repeat(100) }), []);
});

test('screen dimensions must be 1..16384 when given', () => {
  assert.deepEqual(problems({ screenWidth: 1, screenHeight: 16384 }), []);
  assert.match(problems({ screenWidth: 0 }).join(), /screen_width/);
  assert.match(problems({ screenHeight: 16385 }).join(), /screen_height/);
  assert.match(problems({ screenWidth: -5 }).join(), /screen_width/);
});

test('every problem is reported at once, each naming its field', () => {
  const found = problems({ hardwareId: 'unknown', screenWidth: 0, prompt: 'x'.repeat(101) });
  assert.equal(found.length, 3);
  assert.match(found.join('|'), /hardware_id.*\|.*prompt.*\|.*screen_width/);
});

test('real WebP images of every kind are accepted with their dimensions', () => {
  for (const [image, width, height, format] of [
    [lossy, 320, 200, 'lossy'],
    [lossless, 64, 48, 'lossless'],
    [extended, 50, 40, 'extended'],
  ] as const) {
    const result = validateStreamRequest({ ...base, screenshot: image.toString('base64') }, 'sid', limits);
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepEqual(result.value.screenshot?.info, { format, width, height });
  }
});

test('an empty screenshot string means no screenshot', () => {
  const result = validateStreamRequest({ ...base, screenshot: '' }, 'sid', limits);
  assert.ok(result.ok && result.value.screenshot === undefined);
});

test('screenshots that are not WebP are refused, naming the field', async () => {
  const png = await makePng(10, 10);
  const bad: Array<[string, RegExp]> = [
    ['not base64 at all!', /not valid base64/],
    ['QUJD=A==', /not valid base64/],
    [Buffer.from('hello world, this is plain text').toString('base64'), /not a valid WebP/],
    [png.toString('base64'), /not a valid WebP/],
    // Magic bytes alone are not an image.
    [Buffer.concat([Buffer.from('RIFF'), Buffer.from([20, 0, 0, 0]), Buffer.from('WEBPVP8 '), Buffer.alloc(12)]).toString('base64'), /not a valid WebP/],
    // A real image cut short.
    [lossy.subarray(0, lossy.length - 10).toString('base64'), /truncated/],
  ];
  for (const [screenshot, expected] of bad) {
    const found = problems({ screenshot });
    assert.equal(found.length, 1, screenshot.slice(0, 30));
    assert.match(found[0], /^screenshot/);
    assert.match(found[0], expected);
  }
});

test('a screenshot over the size limit is refused before it is decoded', () => {
  const huge = 'A'.repeat(Math.ceil((limits.screenshotMaxBytes + 10) / 3) * 4);
  assert.match(problems({ screenshot: huge }).join(), /screenshot is larger than 65536 bytes/);
});

test('readWebp rejects corrupted headers', () => {
  const corrupt = Buffer.from(lossy);
  corrupt[12 + 8 + 3] = 0; // VP8 start code
  assert.equal(readWebp(corrupt).ok, false);
  const wrongChunk = Buffer.from(lossless);
  wrongChunk.write('ABCD', 12);
  assert.equal(readWebp(wrongChunk).ok, false);
  const lying = Buffer.from(lossy);
  lying.writeUInt32LE(lossy.length * 2, 4); // RIFF size past the end
  assert.equal(readWebp(lying).ok, false);
});

test('regression: a multi-megabyte screenshot is checked without overflowing the stack', () => {
  // The old base64 regular expression threw "Maximum call stack size exceeded" past ~6 MiB.
  const big = { ...limits, screenshotMaxBytes: 10 * 1024 * 1024 };
  const result = validateStreamRequest({ ...base, screenshot: 'A'.repeat(9 * 1024 * 1024) }, 'sid', big);
  assert.ok(!result.ok);
  assert.deepEqual(
    result.problems.map((p) => p.replace(/\(.*\)/, '')),
    ['screenshot is not a valid WebP image '],
  );
});

test('base64 is checked the way Buffer decodes it: alphabet, group length, padding', () => {
  const cases: Array<[string, boolean]> = [
    ['', true],
    ['QQ', true],
    ['QQ==', true],
    ['QUI', true],
    ['QUI=', true],
    ['QUJD', true],
    ['Q', false],
    ['QUJDR', false],
    ['QQ=', false],
    ['Q===', false],
    ['QUJD=A==', false],
    ['QU D', false],
    ['QU-_', false],
    ['QUJDé', false],
  ];
  for (const [text, valid] of cases) assert.equal(isBase64(text), valid, JSON.stringify(text));
});
