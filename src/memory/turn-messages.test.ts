import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { turnsToMessages, type StoredTurn } from './turn-messages.js';

const MARK = '[cut]';
const turn = (user: string, assistant: string, interrupted = false): StoredTurn => ({ userText: user, assistantText: assistant, interrupted });

describe('turnsToMessages', () => {
  const newestFirst = [turn('q3', 'a3'), turn('q2', 'a2'), turn('q1', 'a1')];

  it('returns the turns oldest first as user/assistant pairs', () => {
    assert.deepEqual(turnsToMessages(newestFirst, { maxTurns: 10, maxChars: 100 }, MARK), [
      { role: 'user', content: 'q1' },
      { role: 'assistant', content: 'a1' },
      { role: 'user', content: 'q2' },
      { role: 'assistant', content: 'a2' },
      { role: 'user', content: 'q3' },
      { role: 'assistant', content: 'a3' },
    ]);
  });

  it('keeps the newest turns within the turn budget', () => {
    const out = turnsToMessages(newestFirst, { maxTurns: 2, maxChars: 100 }, MARK);
    assert.deepEqual(out.map((m) => m.content), ['q2', 'a2', 'q3', 'a3']);
  });

  it('keeps the newest turns within the character budget, counting both sides', () => {
    assert.deepEqual(turnsToMessages(newestFirst, { maxTurns: 10, maxChars: 8 }, MARK).map((m) => m.content), ['q2', 'a2', 'q3', 'a3']);
    assert.deepEqual(turnsToMessages(newestFirst, { maxTurns: 10, maxChars: 7 }, MARK).map((m) => m.content), ['q3', 'a3']);
  });

  it('stops at the first turn past the budget instead of skipping to smaller older ones', () => {
    const turns = [turn('q3', 'a3'), turn('long question', 'long answer'), turn('q1', 'a1')];
    assert.deepEqual(turnsToMessages(turns, { maxTurns: 10, maxChars: 10 }, MARK).map((m) => m.content), ['q3', 'a3']);
  });

  it('returns nothing for a zero budget', () => {
    assert.deepEqual(turnsToMessages(newestFirst, { maxTurns: 0, maxChars: 100 }, MARK), []);
    assert.deepEqual(turnsToMessages(newestFirst, { maxTurns: 10, maxChars: 0 }, MARK), []);
  });

  it('marks an interrupted reply after the heard text', () => {
    const out = turnsToMessages([turn('tell me a story', 'Once upon a time ', true)], { maxTurns: 1, maxChars: 100 }, MARK);
    assert.deepEqual(out[1], { role: 'assistant', content: `Once upon a time ${MARK}` });
  });

  it('an interrupted reply with nothing heard is the marker alone', () => {
    const out = turnsToMessages([turn('hello', '', true)], { maxTurns: 1, maxChars: 100 }, MARK);
    assert.deepEqual(out[1], { role: 'assistant', content: MARK });
  });

  it('an empty reply that was not interrupted still yields an assistant message', () => {
    const out = turnsToMessages([turn('hello', '')], { maxTurns: 1, maxChars: 100 }, MARK);
    assert.deepEqual(out[1], { role: 'assistant', content: MARK });
  });
});
