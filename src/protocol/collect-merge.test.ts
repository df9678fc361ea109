import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { mergeSpeech } from './collect-merge.js';

const cases: Array<[buffer: string, piece: string, expected: string, why: string]> = [
  // The contract's own examples.
  ['hello ', 'world', 'hello world', 'a space already at the junction is not doubled'],
  ['hello', 'how are you', 'hello how are you', 'a delta is appended with one space'],
  ['what is the', 'the weather', 'what is the weather', 'repeated words at the junction are dropped'],
  ['I see', 'e-mail', 'I see e-mail', 'overlap is word-wise, never a character fragment'],
  ['can you', ' help me', 'can you help me', 'the COMMIT prompt merges by the same rule'],
  // Empty sides.
  ['', 'hello', 'hello', 'empty buffer keeps the piece'],
  ['hello', '', 'hello', 'empty piece keeps the buffer'],
  ['hello', '   ', 'hello', 'a blank piece is empty'],
  ['', '', '', 'both empty'],
  // Snapshots.
  ['what is', 'what is the weather', 'what is the weather', 'a grown snapshot replaces the buffer'],
  ['What is', 'what IS the weather', 'what IS the weather', 'snapshot comparison ignores case'],
  ['what is the weather', 'what is', 'what is the weather', 'a stale snapshot keeps the buffer'],
  ['what is the weather', 'What is the weather', 'what is the weather', 'an equal piece keeps the buffer'],
  ['what time is it', 'What time is it?', 'what time is it', 'the same words with punctuation are a repeat'],
  ['what time', 'What time is it?', 'What time is it?', 'punctuation does not hide a grown snapshot'],
  // Deltas with overlaps.
  ['open the', 'the door please', 'open the door please', 'one word overlap'],
  ['turn on the lights', 'the lights in the kitchen', 'turn on the lights in the kitchen', 'two words overlap'],
  ['a b c', 'B C d', 'a b c d', 'overlap is case-insensitive'],
  ['hello there', 'there', 'hello there', 'a piece fully repeating the tail adds nothing'],
  ['привет', 'как дела', 'привет как дела', 'Cyrillic delta'],
  ['Какая погода', 'погода в Москве', 'Какая погода в Москве', 'Cyrillic overlap'],
  ['Какая', 'какая погода', 'какая погода', 'Cyrillic snapshot, case-insensitive'],
  ['line one\n', 'line two', 'line one\nline two', 'any whitespace at the end of the buffer is a junction'],
];

for (const [buffer, piece, expected, why] of cases) {
  test(`merge ${JSON.stringify(buffer)} + ${JSON.stringify(piece)}: ${why}`, () => {
    assert.equal(mergeSpeech(buffer, piece), expected);
  });
}

test('merging a sequence of deltas equals merging the running snapshots', () => {
  const deltas = ['what', 'is the', 'weather', 'in Paris'];
  const snapshots = ['what', 'what is the', 'what is the weather', 'what is the weather in Paris'];
  assert.equal(deltas.reduce(mergeSpeech, ''), 'what is the weather in Paris');
  assert.equal(snapshots.reduce(mergeSpeech, ''), 'what is the weather in Paris');
});
