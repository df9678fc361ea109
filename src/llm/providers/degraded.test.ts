import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InterruptedError } from '../../errors.js';
import type { LlmEvent, LlmRequest } from '../provider.js';
import { DegradedProvider } from './degraded.js';

const request: LlmRequest = { system: '', history: [], prompt: 'hello', maxOutputTokens: 16, temperature: 0 };

describe('DegradedProvider', () => {
  it('answers every prompt with the configured notice as one text event', async () => {
    const provider = new DegradedProvider({ notice: 'No model is configured.' });
    assert.equal(provider.name, 'degraded');
    for (const prompt of ['hello', 'what is the weather']) {
      const events: LlmEvent[] = [];
      for await (const event of provider.stream({ ...request, prompt }, new AbortController().signal)) events.push(event);
      assert.deepEqual(events, [{ type: 'text', text: 'No model is configured.' }]);
    }
  });

  it('yields nothing once the signal is aborted', async () => {
    const reason = new InterruptedError();
    const iterator = new DegradedProvider({ notice: 'n' }).stream(request, AbortSignal.abort(reason))[Symbol.asyncIterator]();
    await assert.rejects(iterator.next(), (error) => error === reason);
  });
});
