import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { startFakeGemini, type FakeGemini } from '../../test/fakes/gemini-server.js';
import { startFakeOpenAi, type FakeOpenAi } from '../../test/fakes/openai-server.js';
import { AppError, type ErrorKind } from '../errors.js';
import { FallbackLlm, type FallbackLlmOptions } from './fallback-llm.js';
import type { LlmEvent, LlmProvider, LlmRequest } from './provider.js';
import { ScriptedLlm, text } from '../../test/support/llm-stubs.js';
import { GeminiProvider } from './providers/gemini.js';
import { OpenAiProvider } from './providers/openai.js';

const TEST_TIMEOUT = { timeout: 10_000 };
const request: LlmRequest = { system: '', history: [], prompt: 'hello', maxOutputTokens: 64, temperature: 0.3 };
const breaker = { failureThreshold: 2, windowMs: 60_000, cooldownMs: 30_000 };

/** A provider at the interface: answers `reply`, or fails as `failWith` says. */
const stubLlm = (name: string, reply: readonly string[] = [`${name} says hi.`]): ScriptedLlm => new ScriptedLlm(name, reply.map(text));

interface Outcome {
  texts: string[];
  error: unknown;
}

async function run(llm: LlmProvider, signal = new AbortController().signal): Promise<Outcome> {
  const out: Outcome = { texts: [], error: undefined };
  try {
    for await (const event of llm.stream(request, signal)) if (event.type === 'text') out.texts.push(event.text);
  } catch (error) {
    out.error = error;
  }
  return out;
}

function chain(providers: LlmProvider[], extra: Partial<FallbackLlmOptions> = {}) {
  const clock = { now: 0 };
  const fallbacks: Array<{ from: string; to: string; kind: ErrorKind }> = [];
  const llm = new FallbackLlm({
    providers,
    breaker,
    now: () => clock.now,
    onFallback: (from, to, error) => fallbacks.push({ from, to, kind: error.kind }),
    ...extra,
  });
  return { llm, clock, fallbacks };
}

describe('FallbackLlm', () => {
  it('is named after its chain and rejects a chain that repeats a provider', () => {
    assert.equal(chain([stubLlm('a'), stubLlm('b')]).llm.name, 'a>b');
    assert.throws(() => chain([stubLlm('a'), stubLlm('a')]), RangeError);
    assert.throws(() => chain([]), RangeError);
  });

  it('a healthy primary answers alone', async () => {
    const [a, b] = [stubLlm('a', ['One.', ' Two.']), stubLlm('b')];
    const { llm, fallbacks } = chain([a, b]);
    const out = await run(llm);
    assert.deepEqual(out, { texts: ['One.', ' Two.'], error: undefined });
    assert.equal(b.calls, 0);
    assert.deepEqual(fallbacks, []);
  });

  describe('a failure before the first event hands the turn on', () => {
    const faults: Array<[string, ErrorKind, boolean | undefined]> = [
      ['connect error / 5xx', 'unavailable', undefined],
      ['429', 'limit', undefined],
      ['timeout', 'timeout', undefined],
      ['refused credentials', 'unavailable', false],
    ];
    for (const [label, kind, retryable] of faults) {
      it(`${label} (${kind}) → the next provider answers`, async () => {
        const [a, b] = [stubLlm('a').failWith(kind, 0, retryable), stubLlm('b')];
        const { llm, fallbacks } = chain([a, b]);
        const out = await run(llm);
        assert.deepEqual(out, { texts: ['b says hi.'], error: undefined });
        assert.deepEqual(fallbacks, [{ from: 'a', to: 'b', kind }]);
      });
    }

    for (const kind of ['bad_input', 'internal', 'interrupted'] as const) {
      it(`${kind} is not the provider's fault: it propagates and nothing else is tried`, async () => {
        const [a, b] = [stubLlm('a').failWith(kind), stubLlm('b')];
        const out = await run(chain([a, b]).llm);
        assert.equal((out.error as AppError).kind, kind);
        assert.equal(b.calls, 0);
      });
    }

    it('the last error is thrown when every provider fails (a timeout stays a timeout)', async () => {
      const [a, b] = [stubLlm('a').failWith('unavailable'), stubLlm('b').failWith('timeout')];
      const { llm, fallbacks } = chain([a, b]);
      const out = await run(llm);
      assert.equal((out.error as AppError).kind, 'timeout');
      assert.equal(fallbacks.length, 1);
    });
  });

  it('never switches mid-answer: a failure after the first event propagates', async () => {
    const [a, b] = [stubLlm('a', ['Half', ' an answer']).failWith('unavailable', 1), stubLlm('b')];
    const { llm, fallbacks } = chain([a, b]);
    const out = await run(llm);
    assert.deepEqual(out.texts, ['Half']);
    assert.equal((out.error as AppError).kind, 'unavailable');
    assert.equal(b.calls, 0);
    assert.deepEqual(fallbacks, []);
  });

  it("the turn's own abort (a deadline) neither falls back nor counts against the provider", async () => {
    const controller = new AbortController();
    const deadline = new AppError('timeout', 'the answer took too long');
    const a = stubLlm('a');
    a.stream = async function* (_r: LlmRequest, signal: AbortSignal) {
      controller.abort(deadline);
      signal.throwIfAborted();
      yield { type: 'text', text: 'never' } as const;
    };
    const b = stubLlm('b');
    const { llm } = chain([a, b]);
    for (let i = 0; i < breaker.failureThreshold; i += 1) assert.equal((await run(llm, controller.signal)).error, deadline);
    assert.equal(b.calls, 0);
    assert.deepEqual(llm.states(), [
      { name: 'a', state: 'closed' },
      { name: 'b', state: 'closed' },
    ]);
  });

  describe('circuit breakers', () => {
    it('N failures open the primary: it is skipped until the cool-down, then one trial closes it', async () => {
      const [a, b] = [stubLlm('a').failWith('unavailable'), stubLlm('b')];
      const { llm, clock, fallbacks } = chain([a, b]);
      await run(llm);
      await run(llm);
      assert.deepEqual(llm.states(), [
        { name: 'a', state: 'open' },
        { name: 'b', state: 'closed' },
      ]);
      const skipped = await run(llm);
      assert.deepEqual(skipped.texts, ['b says hi.']);
      assert.equal(a.calls, 2, 'an open provider is not called');
      assert.deepEqual(fallbacks.at(-1), { from: 'a', to: 'b', kind: 'unavailable' });

      a.heal();
      clock.now += breaker.cooldownMs;
      assert.equal(llm.states()[0].state, 'half_open');
      assert.deepEqual((await run(llm)).texts, ['a says hi.']);
      assert.equal(llm.states()[0].state, 'closed');
    });

    it('mid-answer failures count against the provider too', async () => {
      const a = stubLlm('a', ['Half', ' more']).failWith('unavailable', 1);
      const { llm } = chain([a, stubLlm('b')]);
      await run(llm);
      await run(llm);
      assert.equal(llm.states()[0].state, 'open');
    });

    it('every breaker open: unavailable at once, no provider called', async () => {
      const [a, b] = [stubLlm('a').failWith('unavailable'), stubLlm('b').failWith('limit')];
      const { llm } = chain([a, b]);
      await run(llm);
      await run(llm);
      const out = await run(llm);
      assert.equal((out.error as AppError).kind, 'unavailable');
      assert.deepEqual([a.calls, b.calls], [2, 2]);
    });

    it('a consumer that stops early settles nothing against the provider', async () => {
      const a = stubLlm('a', ['One.', ' Two.']);
      const { llm } = chain([a, stubLlm('b')], { breaker: { ...breaker, failureThreshold: 1 } });
      for await (const event of llm.stream(request, new AbortController().signal)) {
        assert.deepEqual(event, { type: 'text', text: 'One.' });
        break;
      }
      assert.equal(llm.states()[0].state, 'closed');
    });
  });

  describe('real providers against their local fakes', () => {
    let openaiFake: FakeOpenAi;
    let geminiFake: FakeGemini;
    const timeouts = { firstTokenTimeoutMs: 2_000 };
    const openai = (overrides = {}) =>
      new OpenAiProvider({ baseUrl: openaiFake.url, apiKey: 'sk-test', model: 'gpt-test', placeholderApiKey: 'x', ...timeouts, ...overrides });
    const gemini = (overrides = {}) =>
      new GeminiProvider({ baseUrl: geminiFake.url, apiKey: 'g-test', model: 'gemini-test', safetyRefusal: 'No.', ...timeouts, ...overrides });

    before(async () => {
      [openaiFake, geminiFake] = await Promise.all([startFakeOpenAi(), startFakeGemini()]);
    });
    beforeEach(() => {
      openaiFake.reset();
      geminiFake.reset();
    });
    after(async () => {
      await Promise.all([openaiFake.close(), geminiFake.close()]);
    });

    it('openai answers 500 → gemini answers', TEST_TIMEOUT, async () => {
      openaiFake.script({ error: { status: 500 } });
      geminiFake.script({ chunks: ['Gemini here.'] });
      const { llm, fallbacks } = chain([openai(), gemini()]);
      assert.deepEqual(await run(llm), { texts: ['Gemini here.'], error: undefined });
      assert.equal(openaiFake.requests.length, 1);
      assert.deepEqual(fallbacks, [{ from: 'openai', to: 'gemini', kind: 'unavailable' }]);
    });

    it('gemini answers 429 → openai answers', TEST_TIMEOUT, async () => {
      geminiFake.script({ error: { status: 429 } });
      openaiFake.script({ chunks: ['OpenAI here.'] });
      const { llm, fallbacks } = chain([gemini(), openai()]);
      assert.deepEqual(await run(llm), { texts: ['OpenAI here.'], error: undefined });
      assert.deepEqual(fallbacks, [{ from: 'gemini', to: 'openai', kind: 'limit' }]);
    });

    it('a primary that hangs past its first-token timeout is closed and the next one answers', TEST_TIMEOUT, async () => {
      openaiFake.script({ hangAfterChunks: 0 });
      geminiFake.script({ chunks: ['Gemini here.'] });
      // Only the hanging primary has a short timeout: the one that answers may be slow to start
      // (its SDK loads on first use) on a loaded machine.
      const { llm, fallbacks } = chain([openai({ firstTokenTimeoutMs: 100 }), gemini()]);
      assert.deepEqual(await run(llm), { texts: ['Gemini here.'], error: undefined });
      assert.deepEqual(fallbacks, [{ from: 'openai', to: 'gemini', kind: 'timeout' }]);
      await openaiFake.waitForClose(0);
    });

    it('both hang: the turn ends with the timeout', TEST_TIMEOUT, async () => {
      openaiFake.script({ hangBeforeHeaders: true });
      geminiFake.script({ hangBeforeHeaders: true });
      const out = await run(chain([gemini({ firstTokenTimeoutMs: 100 }), openai({ firstTokenTimeoutMs: 100 })]).llm);
      assert.equal((out.error as AppError).kind, 'timeout');
    });

    it('a mid-stream drop after text propagates: the other provider is never asked', TEST_TIMEOUT, async () => {
      geminiFake.script({ chunks: ['One', ' two', ' three'], dropAfterChunks: 1 });
      const out = await run(chain([gemini(), openai()]).llm);
      assert.deepEqual(out.texts, ['One']);
      assert.equal((out.error as AppError).kind, 'unavailable');
      assert.equal(openaiFake.requests.length, 0);
    });
  });
});
