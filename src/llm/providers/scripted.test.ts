import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { AppError, InterruptedError } from '../../errors.js';
import type { LlmEvent, LlmRequest } from '../provider.js';
import { ScriptedProvider, type ScriptedProviderOptions } from './scripted.js';

const request: LlmRequest = {
  system: 'system prompt!!',
  history: [{ role: 'user', content: 'earlier' }],
  prompt: 'what time is it',
  maxOutputTokens: 64,
  temperature: 0,
};

const base: ScriptedProviderOptions = {
  reply: 'Hello there. How are you?',
  firstTokenDelayMs: 0,
  tokenDelayMs: 0,
  tokenChars: 6,
  failBeforeFirstToken: false,
  failAfterChars: -1,
  failKind: 'unavailable',
};

async function run(options: Partial<ScriptedProviderOptions>, signal = new AbortController().signal) {
  const events: LlmEvent[] = [];
  let error: unknown;
  try {
    for await (const event of new ScriptedProvider({ ...base, ...options }).stream(request, signal)) events.push(event);
  } catch (e) {
    error = e;
  }
  const texts = events.flatMap((e) => (e.type === 'text' ? [e.text] : []));
  const usage = events.filter((e) => e.type === 'usage');
  return { texts, usage, error };
}

/** Fails a test that would otherwise hang on a delay that ignores its signal. */
const TEST_TIMEOUT = { timeout: 5_000 };

/** Lets every pending promise callback run, so "not yet" is observable without waiting on time. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('ScriptedProvider', () => {
  describe('tokens', () => {
    it('cuts the reply into tokens of tokenChars characters', async () => {
      const out = await run({});
      assert.deepEqual(out.texts, ['Hello ', 'there.', ' How a', 're you', '?']);
      assert.equal(out.error, undefined);
    });

    it('ends with one usage event of about a token per four characters', async () => {
      const out = await run({});
      const input = 'system prompt!!' + 'earlier' + 'what time is it';
      assert.deepEqual(out.usage, [
        { type: 'usage', inputTokens: Math.ceil(input.length / 4), outputTokens: Math.ceil(25 / 4), model: 'scripted' },
      ]);
    });

    it('never splits a surrogate pair', async () => {
      const out = await run({ reply: 'a\u{1F600}b\u{1F600}c', tokenChars: 2 });
      assert.deepEqual(out.texts, ['a\u{1F600}', 'b\u{1F600}', 'c']);
    });

    it('can echo the prompt through a reply function', async () => {
      const out = await run({ reply: (req) => `You said: ${req.prompt}.`, tokenChars: 100 });
      assert.deepEqual(out.texts, ['You said: what time is it.']);
    });

    it('rejects a token size below one', () => {
      assert.throws(() => new ScriptedProvider({ ...base, tokenChars: 0 }), RangeError);
    });
  });

  describe('failures', () => {
    it('fails before the first token with the configured kind', async () => {
      const out = await run({ failBeforeFirstToken: true, failKind: 'limit' });
      assert.deepEqual(out.texts, []);
      assert.ok(out.error instanceof AppError);
      assert.equal(out.error.kind, 'limit');
      assert.deepEqual(out.usage, []);
    });

    it('fails after exactly failAfterChars characters', async () => {
      const out = await run({ reply: 'abcdefghij', tokenChars: 3, failAfterChars: 7, failKind: 'timeout' });
      assert.deepEqual(out.texts, ['abc', 'def', 'g']);
      assert.ok(out.error instanceof AppError);
      assert.equal(out.error.kind, 'timeout');
    });

    it('fails after the whole reply when failAfterChars is its length', async () => {
      const out = await run({ reply: 'abcdef', tokenChars: 4, failAfterChars: 6 });
      assert.deepEqual(out.texts, ['abcd', 'ef']);
      assert.ok(out.error instanceof AppError);
      assert.equal(out.error.kind, 'unavailable');
      assert.deepEqual(out.usage, []);
    });

    it('completes when the reply is shorter than failAfterChars', async () => {
      const out = await run({ reply: 'abcdef', tokenChars: 4, failAfterChars: 7 });
      assert.deepEqual(out.texts, ['abcd', 'ef']);
      assert.equal(out.error, undefined);
      assert.equal(out.usage.length, 1);
    });
  });

  describe('delays', () => {
    beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
    afterEach(() => mock.timers.reset());

    it('waits firstTokenDelayMs before the first token and tokenDelayMs between tokens', TEST_TIMEOUT, async () => {
      const provider = new ScriptedProvider({ ...base, reply: 'abcd', tokenChars: 2, firstTokenDelayMs: 100, tokenDelayMs: 30 });
      const iterator = provider.stream(request, new AbortController().signal)[Symbol.asyncIterator]();

      /** The next result, which must come exactly `ms` of fake time later. */
      const nextAfter = async (ms: number, early: string): Promise<IteratorResult<LlmEvent> | undefined> => {
        let result: IteratorResult<LlmEvent> | undefined;
        const pending = iterator.next().then((r) => (result = r));
        mock.timers.tick(ms - 1);
        await settle();
        assert.equal(result, undefined, early);
        mock.timers.tick(1);
        await pending;
        return result;
      };
      assert.deepEqual(await nextAfter(100, 'no token before firstTokenDelayMs'), { done: false, value: { type: 'text', text: 'ab' } });
      assert.deepEqual(await nextAfter(30, 'no token before tokenDelayMs'), { done: false, value: { type: 'text', text: 'cd' } });
    });

    it('an abort during the first-token delay ends the stream with the abort reason', TEST_TIMEOUT, async () => {
      const controller = new AbortController();
      const provider = new ScriptedProvider({ ...base, firstTokenDelayMs: 60_000 });
      const pending = provider.stream(request, controller.signal)[Symbol.asyncIterator]().next();
      await settle();
      const reason = new InterruptedError();
      controller.abort(reason);
      // No clock tick: the delay itself must give way to the abort.
      await assert.rejects(pending, (error) => error === reason);
    });

    it('an abort between tokens ends the stream with the abort reason', TEST_TIMEOUT, async () => {
      const controller = new AbortController();
      const provider = new ScriptedProvider({ ...base, tokenDelayMs: 60_000 });
      const iterator = provider.stream(request, controller.signal)[Symbol.asyncIterator]();
      assert.deepEqual(await iterator.next(), { done: false, value: { type: 'text', text: 'Hello ' } });
      const pending = iterator.next();
      controller.abort();
      await assert.rejects(pending, (error) => error instanceof AppError && error.kind === 'interrupted');
    });

    it('an already aborted signal yields nothing', async () => {
      const reason = new InterruptedError();
      const out = await run({}, AbortSignal.abort(reason));
      assert.equal(out.error, reason);
      assert.deepEqual(out.texts, []);
    });
  });
});
