/**
 * The behaviour every streaming language-model provider owes the pipeline, run against each real
 * provider and its local fake (as `memoryStoreSuite` does for the memory stores): upstream errors
 * as AppError kinds with safe messages, the first-token timeout (and the caller's total one), and
 * cancellation that closes the upstream request. What only one provider does stays in its own
 * test file.
 *
 * ```ts
 * llmProviderContract({ name: 'OpenAiProvider', start: startFakeOpenAi, provider: (fake, o) => new OpenAiProvider({ ... }), ... });
 * ```
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError, InterruptedError, type ErrorKind } from '../../src/errors.js';
import type { LlmEvent, LlmProvider, LlmRequest } from '../../src/llm/provider.js';
import type { RecordedRequest, RecordingHttp } from '../fakes/recording-http.js';
import { useFake } from './use-fake.js';

const TEST_TIMEOUT = { timeout: 10_000 };

export const CONTRACT_REQUEST: LlmRequest = {
  system: 'You are a test assistant.',
  history: [],
  prompt: 'what is on my screen',
  maxOutputTokens: 64,
  temperature: 0.3,
};

/** The script keys every model fake understands (test/fakes/openai-server.ts, gemini-server.ts). */
export interface ContractScript {
  readonly chunks?: readonly string[];
  readonly chunkDelayMs?: number;
  readonly error?: { readonly status: number };
  readonly hangBeforeHeaders?: boolean;
  readonly hangAfterChunks?: number;
  readonly dropAfterChunks?: number;
  readonly streamErrorAfterChunks?: number;
}

/** The options the contract varies; the rest is the provider's own test configuration. */
export interface ContractOverrides {
  readonly baseUrl?: string;
  readonly firstTokenTimeoutMs?: number;
}

export interface LlmProviderContract<F extends RecordingHttp<never, RecordedRequest>> {
  /** The describe title, e.g. `OpenAiProvider`. */
  readonly name: string;
  /** Starts the provider's local fake. */
  start(): Promise<F>;
  /** The provider against `fake` (first-token timeout 5 s unless overridden). */
  provider(fake: F, overrides: ContractOverrides): LlmProvider;
  /** The error statuses and the kinds (and, where given, the retryable flag) they must become. */
  readonly errorCases: ReadonlyArray<{ readonly status: number; readonly kind: ErrorKind; readonly retryable?: boolean }>;
  /** The SDK's error class, which must be kept as the AppError's cause. */
  readonly sdkError: abstract new (...args: never[]) => Error;
  /** The path (and query) of the one POST an answer takes, e.g. `/v1/chat/completions`. */
  readonly path: string;
  /** The header and value that carry the API key (`test-key` in the contract's providers). */
  readonly keyHeader: readonly [string, string];
}

export interface Outcome {
  events: LlmEvent[];
  texts: string[];
  error: unknown;
}

/** Every event of one stream, and the error that ended it (if any). */
export async function collectStream(provider: LlmProvider, req: LlmRequest = CONTRACT_REQUEST, signal = new AbortController().signal): Promise<Outcome> {
  const out: Outcome = { events: [], texts: [], error: undefined };
  try {
    for await (const event of provider.stream(req, signal)) {
      out.events.push(event);
      if (event.type === 'text') out.texts.push(event.text);
    }
  } catch (error) {
    out.error = error;
  }
  return out;
}

export function assertAppError(error: unknown, kind: AppError['kind']): asserts error is AppError {
  assert.ok(error instanceof AppError, `expected an AppError, got ${String(error)}`);
  assert.equal(error.kind, kind);
  assert.doesNotMatch(error.message, /fake|upstream|do not show/i, 'upstream text must not reach clients');
}

/** Runs the shared behaviour suite against one provider. */
export function llmProviderContract<F extends RecordingHttp<never, RecordedRequest>>(contract: LlmProviderContract<F>): void {
  describe(`${contract.name}: the provider contract`, () => {
    const current = useFake(contract.start);
    // The fakes take more keys; these are the ones every one of them takes.
    const script = (s: ContractScript): void => (current() as unknown as RecordingHttp<ContractScript, RecordedRequest>).script(s);
    const provider = (overrides: ContractOverrides = {}): LlmProvider => contract.provider(current(), { firstTokenTimeoutMs: 5_000, ...overrides });
    const run = (p: LlmProvider, req?: LlmRequest, signal?: AbortSignal): Promise<Outcome> => collectStream(p, req, signal);

    it('an answer is one POST to the endpoint, with the key, read to its end', TEST_TIMEOUT, async () => {
      const out = await run(provider());
      assert.equal(out.error, undefined);
      assert.equal(current().requests.length, 1);
      const [sent] = current().requests;
      assert.equal(sent.method, 'POST');
      assert.equal(sent.path, contract.path);
      assert.equal(sent.headers[contract.keyHeader[0]], contract.keyHeader[1]);
      assert.equal(sent.outcome, 'completed');
    });

    describe('upstream errors become AppError kinds with safe messages', () => {
      for (const { status, kind, retryable } of contract.errorCases) {
        it(`HTTP ${status} → ${kind}${retryable ? ', retryable' : ''}`, TEST_TIMEOUT, async () => {
          script({ error: { status } });
          const out = await run(provider());
          assertAppError(out.error, kind);
          if (retryable !== undefined) assert.equal(out.error.retryable, retryable);
          assert.ok(out.error.cause instanceof contract.sdkError, 'the SDK error is kept as the cause');
          assert.deepEqual(out.texts, []);
          assert.equal(current().requests.length, 1, 'the SDK must not retry');
        });
      }

      it('an unreachable server → unavailable', TEST_TIMEOUT, async () => {
        const gone = await contract.start();
        const url = gone.url;
        await gone.close();
        const out = await run(provider({ baseUrl: url }));
        assertAppError(out.error, 'unavailable');
      });

      it('a connection dropped mid-stream → unavailable, after the text that did arrive', TEST_TIMEOUT, async () => {
        script({ chunks: ['One', ' two', ' three', ' four'], dropAfterChunks: 2 });
        const out = await run(provider());
        assert.deepEqual(out.texts, ['One', ' two']);
        assertAppError(out.error, 'unavailable');
        assert.equal(current().requests[0].outcome, 'server-dropped');
        assert.equal(current().requests.length, 1, 'the SDK must not resume the stream');
      });

      it('an error event inside the stream → unavailable', TEST_TIMEOUT, async () => {
        script({ chunks: ['One', ' two'], streamErrorAfterChunks: 1 });
        const out = await run(provider());
        assert.deepEqual(out.texts, ['One']);
        assertAppError(out.error, 'unavailable');
      });
    });

    describe('timeouts', () => {
      it('no response headers within the first-token timeout → timeout, upstream closed', TEST_TIMEOUT, async () => {
        script({ hangBeforeHeaders: true });
        const out = await run(provider({ firstTokenTimeoutMs: 100 }));
        assertAppError(out.error, 'timeout');
        await current().waitForClose(0);
      });

      it('headers but no text within the first-token timeout → timeout, upstream closed', TEST_TIMEOUT, async () => {
        script({ hangAfterChunks: 0 });
        const out = await run(provider({ firstTokenTimeoutMs: 100 }));
        assert.deepEqual(out.texts, []);
        assertAppError(out.error, 'timeout');
        await current().waitForClose(0);
      });

      // The answer's total limit is the caller's (a turn's `total_timeout_ms`): the provider ends
      // with the caller's reason and closes the request.
      it("text that keeps coming slowly is cut by the caller's total timeout", TEST_TIMEOUT, async () => {
        script({ chunks: ['a', 'b', 'c', 'd', 'e', 'f'], chunkDelayMs: 100 });
        const deadline = new AbortController();
        const timer = setTimeout(() => deadline.abort(new AppError('timeout', 'the answer took too long')), 250);
        const out = await run(provider({ firstTokenTimeoutMs: 300 }), CONTRACT_REQUEST, deadline.signal);
        clearTimeout(timer);
        assert.ok(out.texts.length >= 1 && out.texts.length < 6, `got ${out.texts.length} chunks`);
        assertAppError(out.error, 'timeout');
        await current().waitForClose(0);
      });

      it('the first-token timeout stops counting once text arrives', TEST_TIMEOUT, async () => {
        script({ chunks: ['a', 'b', 'c'], chunkDelayMs: 200 });
        const out = await run(provider({ firstTokenTimeoutMs: 300 }));
        assert.equal(out.error, undefined);
        assert.deepEqual(out.texts, ['a', 'b', 'c']);
      });

      it('clears its timers when the stream completes', TEST_TIMEOUT, async () => {
        const activeTimeouts = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
        const before = activeTimeouts();
        const out = await run(provider({ firstTokenTimeoutMs: 60_000 }));
        assert.equal(out.error, undefined);
        assert.equal(activeTimeouts(), before);
      });
    });

    describe('cancellation', () => {
      it('an abort mid-stream closes the upstream request and ends the iterator with the reason', TEST_TIMEOUT, async () => {
        script({ chunks: ['first', ' second'], hangAfterChunks: 1 });
        const controller = new AbortController();
        const iterator = provider().stream(CONTRACT_REQUEST, controller.signal)[Symbol.asyncIterator]();
        assert.deepEqual(await iterator.next(), { done: false, value: { type: 'text', text: 'first' } });
        const pending = iterator.next();
        const reason = new InterruptedError();
        controller.abort(reason);
        await assert.rejects(pending, (error) => error === reason);
        await current().waitForClose(0);
        assert.deepEqual(await iterator.next(), { done: true, value: undefined });
      });

      it('an abort before the response headers closes the upstream request', TEST_TIMEOUT, async () => {
        script({ hangBeforeHeaders: true });
        const controller = new AbortController();
        const running = run(provider(), CONTRACT_REQUEST, controller.signal);
        await current().waitForRequest(0);
        const reason = new InterruptedError();
        controller.abort(reason);
        const out = await running;
        assert.equal(out.error, reason);
        await current().waitForClose(0);
      });

      it('an abort with no AppError reason ends as interrupted', TEST_TIMEOUT, async () => {
        script({ hangAfterChunks: 0 });
        const controller = new AbortController();
        const running = run(provider(), CONTRACT_REQUEST, controller.signal);
        await current().waitForRequest(0);
        controller.abort();
        const out = await running;
        assertAppError(out.error, 'interrupted');
        await current().waitForClose(0);
      });

      it('a consumer that stops reading closes the upstream request', TEST_TIMEOUT, async () => {
        script({ chunks: ['one', ' two', ' three'], hangAfterChunks: 2 });
        for await (const event of provider().stream(CONTRACT_REQUEST, new AbortController().signal)) {
          assert.deepEqual(event, { type: 'text', text: 'one' });
          break;
        }
        await current().waitForClose(0);
      });

      it('an already aborted signal sends nothing', TEST_TIMEOUT, async () => {
        const reason = new InterruptedError();
        const out = await run(provider(), CONTRACT_REQUEST, AbortSignal.abort(reason));
        assert.equal(out.error, reason);
        assert.equal(current().requests.length, 0);
      });
    });
  });
}
