/**
 * The behaviour every network speech engine owes the audio stage, run against each engine and
 * its local fake (as `memoryStoreSuite` does for the memory stores): audio passed on exactly and
 * as it arrives, failures as AppError kinds, cancellation that closes the upstream exchange, long
 * texts split in order, and voices chosen by language and script. Timeouts (which need real or
 * mock timers depending on the transport) and what only one engine does stay in its own file.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Pcm, TtsProvider } from '../../src/audio/provider.js';
import { AppError, InterruptedError } from '../../src/errors.js';
import { concatSamples } from '../../src/audio/silence.js';

/** A fake speech service in the contract's terms: exchanges (requests or connections) and pieces of audio. */
export interface ContractSpeechFake {
  readonly url: string;
  /** The audio the fake sends for every text. */
  readonly audio: Int16Array;
  /** Scripts the following exchanges; `{}` restores a quick, healthy answer. */
  script(script: ContractSpeechScript): void;
  /** Exchanges received so far. */
  exchanges(): number;
  /** The text each exchange asked for, in order. */
  texts(): Array<string | undefined>;
  /** Resolves when exchange `index` (default: the latest) was closed by the client early. */
  waitForClose(index?: number): Promise<void>;
  close(): Promise<void>;
}

export interface ContractSpeechScript {
  /** Bytes per piece (a body piece or an audio message); odd sizes split samples. */
  readonly pieceBytes?: number;
  readonly pieceDelayMs?: number;
  /** Send this many pieces, then hang. */
  readonly hangAfterPieces?: number;
  /** Send this many pieces, then drop the connection. */
  readonly dropAfterPieces?: number;
}

export interface TtsProviderContract {
  /** The describe title, e.g. `EdgeTts`. */
  readonly name: string;
  start(): Promise<ContractSpeechFake>;
  /** The engine against a fake at `baseUrl`; `maxChars` is its longest text per exchange. */
  tts(options: { readonly baseUrl: string; readonly maxChars?: number }): TtsProvider;
  /** The configured voices: the default one and the Russian one. */
  readonly voices: { readonly default: string; readonly ru: string };
}

const never = new AbortController().signal;

export async function collectPcm(iterable: AsyncIterable<Pcm>): Promise<Pcm[]> {
  const out: Pcm[] = [];
  for await (const pcm of iterable) out.push(pcm);
  return out;
}

/** The samples of every part, end to end. */
export function joinedPcm(parts: readonly Pcm[]): Int16Array {
  return concatSamples(parts.map((part) => part.samples));
}

/** The AppError a synthesis ended with, and the parts yielded before it; fails the test if it succeeded. */
export async function synthesisFailure(iterable: AsyncIterable<Pcm>): Promise<{ error: AppError; parts: Pcm[] }> {
  const parts: Pcm[] = [];
  try {
    for await (const pcm of iterable) parts.push(pcm);
  } catch (error) {
    assert.ok(error instanceof AppError, `not an AppError: ${String(error)}`);
    return { error, parts };
  }
  assert.fail('expected the synthesis to fail');
}

/** Runs the shared behaviour suite against one engine. */
export function ttsProviderContract(contract: TtsProviderContract): void {
  describe(`${contract.name}: the speech engine contract`, () => {
    let fake: ContractSpeechFake;
    const tts = (maxChars?: number): TtsProvider => contract.tts({ baseUrl: fake.url, maxChars });
    const voice = contract.voices.default;
    before(async () => {
      fake = await contract.start();
    });
    after(() => fake.close());

    it('odd-sized pieces: a split sample is joined, none lost or shifted', async () => {
      fake.script({ pieceBytes: 1001, pieceDelayMs: 1 });
      const parts = await collectPcm(tts().synthesize('Hi.', voice, never));
      assert.ok(parts.length > 1, `${parts.length} parts`);
      assert.deepEqual(joinedPcm(parts), fake.audio);
    });

    it('yields audio as it arrives; an abort mid-stream closes the exchange and ends as interrupted', async () => {
      fake.script({ hangAfterPieces: 1 });
      const controller = new AbortController();
      const iterator = tts().synthesize('Hi.', voice, controller.signal)[Symbol.asyncIterator]();
      const first = await iterator.next();
      assert.equal(first.done, false);
      assert.ok(first.value.samples.length > 0);
      const pending = iterator.next();
      controller.abort(new InterruptedError());
      await assert.rejects(pending, (e: unknown) => e instanceof AppError && e.kind === 'interrupted');
      await fake.waitForClose();
    });

    it('the consumer stopping early closes the exchange', async () => {
      fake.script({ pieceBytes: 480, pieceDelayMs: 5 });
      for await (const pcm of tts().synthesize('Hi.', voice, never)) {
        assert.ok(pcm.samples.length > 0);
        break;
      }
      await fake.waitForClose();
    });

    it('an already aborted signal sends nothing', async () => {
      fake.script({});
      const before = fake.exchanges();
      const { error } = await synthesisFailure(tts().synthesize('Hi.', voice, AbortSignal.abort(new InterruptedError())));
      assert.equal(error.kind, 'interrupted');
      assert.equal(fake.exchanges(), before);
    });

    it('a connection dropped mid-stream → unavailable, after the audio that did arrive', async () => {
      fake.script({ pieceBytes: 480, dropAfterPieces: 2 });
      const { error, parts } = await synthesisFailure(tts().synthesize('Hi.', voice, never));
      assert.equal(error.kind, 'unavailable');
      assert.ok(parts.length > 0);
    });

    it('nothing listening → unavailable', async () => {
      const gone = await contract.start();
      const url = gone.url;
      await gone.close();
      const { error } = await synthesisFailure(contract.tts({ baseUrl: url }).synthesize('Hi.', voice, never));
      assert.equal(error.kind, 'unavailable');
    });

    it('a text longer than the limit goes as several exchanges, in order', async () => {
      fake.script({});
      const before = fake.exchanges();
      const parts = await collectPcm(tts(20).synthesize('First sentence here. Second one follows.', voice, never));
      assert.deepEqual(fake.texts().slice(before), ['First sentence here.', 'Second one follows.']);
      assert.equal(joinedPcm(parts).length, 2 * fake.audio.length);
    });

    it('voices: per language from config and by the text\'s script; a language tag as voice maps to the configured one', () => {
      const engine = tts();
      assert.equal(engine.resolveVoice('Hello.', {}), contract.voices.default);
      assert.equal(engine.resolveVoice('Привет, как дела?', {}), contract.voices.ru);
      assert.equal(engine.resolveVoice('Hello.', { language: 'ru' }), contract.voices.ru);
      assert.equal(engine.resolveVoice('Hello.', { voice: 'en-us' }), contract.voices.default);
    });
  });
}
