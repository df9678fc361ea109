import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { fail, ScriptedLlm, text } from '../../test/support/llm-stubs.js';
import { AppError } from '../errors.js';
import { Metrics } from '../observability/metrics.js';
import type { LlmEvent, LlmProvider, LlmRequest } from '../llm/provider.js';
import type { AudioPiece, Speaker, TurnEvent } from './ports.js';
import { SentenceSplitter } from './sentence-splitter.js';
import { speakSentences, type SpeakSentencesOptions } from './speak-sentences.js';

const REQUEST: LlmRequest = { system: '', history: [], prompt: 'hi', maxOutputTokens: 100, temperature: 0 };
const metrics = new Metrics();

function piece(label: string): AudioPiece {
  return { data: Buffer.from(label), frames: label.length / 2, sampleRate: 48000, channels: 1 };
}

/** Resolves after the macrotask queue had a turn: every ready promise has settled by then. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The model answers `events`, then throws `error` if given. */
const listLlm = (events: readonly LlmEvent[], error?: unknown): ScriptedLlm =>
  new ScriptedLlm('list', error === undefined ? events : [...events, fail(error)]);


/** Two pieces per sentence; records when each synthesis starts and ends, and can fail one. */
class FakeSpeaker implements Speaker {
  readonly log: string[] = [];
  readonly #waiters: Array<{ line: string; resolve: () => void }> = [];
  failOn: string | undefined;

  /** Resolves once `line` is logged. */
  when(line: string): Promise<void> {
    if (this.log.includes(line)) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ line, resolve }));
  }

  #note(line: string): void {
    this.log.push(line);
    for (const w of this.#waiters) if (w.line === line) w.resolve();
  }

  async *speak(sentence: string, _voice: unknown, signal: AbortSignal): AsyncGenerator<AudioPiece> {
    this.#note(`tts start ${sentence}`);
    for (const n of [1, 2]) {
      await settle();
      if (signal.aborted) throw signal.reason;
      if (this.failOn === sentence) throw new AppError('unavailable', 'speech failed');
      yield piece(`${sentence}#${n}`);
    }
    this.#note(`tts end ${sentence}`);
  }
  speakCached(): never {
    throw new Error('not used');
  }
}

function options(llm: LlmProvider, speaker: Speaker, overrides: Partial<SpeakSentencesOptions> = {}): SpeakSentencesOptions & { heard: string[]; usage: number[] } {
  const heard: string[] = [];
  const usage: number[] = [];
  return {
    llm,
    speaker,
    segmenter: new SentenceSplitter({ firstFragmentMinChars: Infinity, maxSentenceChars: 400 }),
    request: REQUEST,
    signal: new AbortController().signal,
    metrics,
    limits: { synthesisLookahead: 3, pendingSentencesMax: 16 },
    onHeard: (sentence) => heard.push(sentence),
    onUsage: (u) => usage.push(u.inputTokens, u.outputTokens),
    heard,
    usage,
    ...overrides,
  };
}

const label = (e: TurnEvent): string =>
  e.type === 'text' ? `text ${e.text}` : e.type === 'audio' ? `audio ${e.piece.data.toString()}` : e.type;

describe('speakSentences', () => {
  test('each sentence: its text, then its audio, in order; heard only once its last piece was taken', async () => {
    const llm = listLlm([text('One. Two'), { type: 'tool_call', name: 'open_app', args: {} }, text('. Three.'), { type: 'usage', inputTokens: 7, outputTokens: 3, model: 'm' }]);
    const o = options(llm, new FakeSpeaker());
    const out: string[] = [];
    for await (const event of speakSentences(o)) out.push(`${label(event)} (heard ${o.heard.length})`);
    assert.deepEqual(out, [
      'text One. (heard 0)', 'audio One.#1 (heard 0)', 'audio One.#2 (heard 0)',
      'text Two. (heard 1)', 'audio Two.#1 (heard 1)', 'audio Two.#2 (heard 1)',
      'text Three. (heard 2)', 'audio Three.#1 (heard 2)', 'audio Three.#2 (heard 2)',
    ]);
    assert.deepEqual(o.heard, ['One.', 'Two.', 'Three.']);
    assert.deepEqual(o.usage, [7, 3]);
  });

  test('the next sentences are synthesized while the current one is still being sent', async () => {
    const speaker = new FakeSpeaker();
    const events = speakSentences(options(listLlm([text('One. Two. Three. Four.')]), speaker));
    assert.equal(label((await events.next()).value!), 'text One.');
    assert.equal(label((await events.next()).value!), 'audio One.#1');
    // The consumer holds the first piece (a slow client): the look-ahead works on.
    await speaker.when('tts end Two.');
    await speaker.when('tts end Three.');
    await settle();
    assert.ok(!speaker.log.includes('tts start Four.'), 'at most three sentences at once');
    await events.return(undefined);
  });

  test('the model stream is read to its end while the consumer is stalled', async () => {
    const llm = listLlm([text('One. '), text('Two. '), text('Three. '), text('Four. '), text('Five.')]);
    const finished = llm.drained();
    const events = speakSentences(options(llm, new FakeSpeaker(), { limits: { synthesisLookahead: 1, pendingSentencesMax: 16 } }));
    await events.next();
    await finished;
    await events.return(undefined);
  });

  test('a synthesis failing ahead surfaces after the sentences before it were sent', async () => {
    const speaker = new FakeSpeaker();
    speaker.failOn = 'Two.';
    const o = options(listLlm([text('One. Two. Three.')]), speaker);
    const out: string[] = [];
    await assert.rejects(async () => {
      for await (const event of speakSentences(o)) out.push(label(event));
    }, /speech failed/);
    assert.deepEqual(out, ['text One.', 'audio One.#1', 'audio One.#2', 'text Two.']);
    assert.deepEqual(o.heard, ['One.']);
  });

  test('a model failure after some sentences surfaces after they were spoken', async () => {
    const o = options(listLlm([text('One. Two. Thr')], new AppError('unavailable', 'model went away')), new FakeSpeaker());
    const out: string[] = [];
    await assert.rejects(async () => {
      for await (const event of speakSentences(o)) out.push(label(event));
    }, /model went away/);
    assert.deepEqual(out, ['text One.', 'audio One.#1', 'audio One.#2', 'text Two.', 'audio Two.#1', 'audio Two.#2']);
  });

  test('an abort stops the model stream and every synthesis', async () => {
    const controller = new AbortController();
    const signals: AbortSignal[] = [];
    let modelSignal: AbortSignal | undefined;
    const llm: LlmProvider = {
      name: 'endless',
      async *stream(_request, signal) {
        modelSignal = signal;
        yield text('One. Two. Three. ');
        await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
      },
    };
    const speaker: Speaker = {
      async *speak(_text, _voice, signal) {
        signals.push(signal);
        yield piece('xx');
        await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
      },
      speakCached: () => Promise.reject(new Error('not used')),
    };
    const events = speakSentences(options(llm, speaker, { signal: controller.signal }));
    await events.next();
    await events.next();
    await settle();
    assert.ok(signals.length >= 2, 'sentence two is being synthesized');
    const reason = new AppError('interrupted', 'user interrupted');
    const next = events.next();
    controller.abort(reason);
    await assert.rejects(next, reason);
    assert.ok(signals.every((s) => s.aborted));
    assert.equal(modelSignal?.aborted, true);
  });

  test('a sentence with nothing to say aloud is sent as text and heard, with no audio', async () => {
    const speaker = new FakeSpeaker();
    const o = options(listLlm([text('🎉🎉\n\nDone.')]), speaker);
    const out: string[] = [];
    for await (const event of speakSentences(o)) out.push(label(event));
    assert.deepEqual(out, ['text 🎉🎉', 'text Done.', 'audio Done.#1', 'audio Done.#2']);
    assert.deepEqual(o.heard, ['🎉🎉', 'Done.']);
    assert.ok(!speaker.log.includes('tts start 🎉🎉'));
  });

  test('a model that says nothing is an unavailable error', async () => {
    await assert.rejects(
      async () => {
        for await (const _ of speakSentences(options(listLlm([{ type: 'usage', inputTokens: 1, outputTokens: 0, model: 'm' }]), new FakeSpeaker()))) {
          // nothing to read
        }
      },
      (error: unknown) => error instanceof AppError && error.kind === 'unavailable',
    );
  });

  /**
   * Pieces made on other threads are all in memory when they arrive: they go to the transport in
   * one go (one HTTP/2 flush). Pieces an engine computes here get a turn of the event loop each.
   */
  for (const offThread of [true, false]) {
    test(`pieces that are ready: ${offThread ? 'passed on without a turn of the event loop between them (offThread)' : 'a turn of the event loop after each (computed on this thread)'}`, async () => {
      const speaker: Speaker = {
        offThread,
        async *speak(sentence: string) {
          for (let n = 1; n <= 4; n++) yield piece(`${sentence}#${n}`);
        },
        speakCached: () => Promise.reject(new Error('not used')),
      };
      const turnsSeen: boolean[] = [];
      let turned = false;
      for await (const event of speakSentences(options(listLlm([text('One.')]), speaker))) {
        if (event.type !== 'audio') continue;
        if (turnsSeen.length === 0) setImmediate(() => (turned = true));
        turnsSeen.push(turned);
      }
      assert.equal(turnsSeen.length, 4);
      if (offThread) assert.deepEqual(turnsSeen, [false, false, false, false]);
      else assert.ok(turnsSeen.includes(true), `the event loop turned while the pieces were passed on (${turnsSeen.join(', ')})`);
    });
  }
});
