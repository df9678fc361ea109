import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ScriptedTts } from '../../../test/support/tts-stubs.js';
import { AppError, InterruptedError } from '../../errors.js';
import type { Pcm, TtsProvider, VoiceRequest } from '../provider.js';
import { FallbackTts } from './fallback.js';

const never = new AbortController().signal;

async function run(tts: TtsProvider, text = 'Hello.', request: VoiceRequest = {}, signal = never): Promise<Pcm[]> {
  const out: Pcm[] = [];
  for await (const pcm of tts.synthesize(text, tts.resolveVoice(text, request), signal)) out.push(pcm);
  return out;
}

describe('FallbackTts', () => {
  it('the primary speaks when it works; the others are not asked', async () => {
    const primary = new ScriptedTts('primary');
    const backup = new ScriptedTts('backup');
    const parts = await run(new FallbackTts([primary, backup]));
    assert.equal(parts.length, 2);
    assert.ok(parts.every((p) => p.engine === 'primary' && p.fallback !== true));
    assert.equal(backup.calls.length, 0);
  });

  it('the primary fails before audio → the next one speaks the whole sentence, and it is reported', async () => {
    const primary = new ScriptedTts('primary', { pieces: 0, fail: new AppError('unavailable', 'down') });
    const backup = new ScriptedTts('backup');
    const reported: Array<[string, string, string]> = [];
    const chain = new FallbackTts([primary, backup], { onFallback: (from, to, error) => reported.push([from, to, error.kind]) });
    const parts = await run(chain, 'Say this.');
    assert.deepEqual(backup.calls.map((c) => c.text), ['Say this.']);
    assert.equal(parts.length, 2);
    assert.ok(parts.every((p) => p.engine === 'backup' && p.fallback === true));
    assert.deepEqual(reported, [['primary', 'backup', 'unavailable']]);
  });

  it('falls through several engines to the last', async () => {
    const chain = new FallbackTts([
      new ScriptedTts('a', { pieces: 0, fail: new AppError('limit', 'busy') }),
      new ScriptedTts('b', { pieces: 0, fail: new AppError('timeout', 'slow') }),
      new ScriptedTts('c'),
    ]);
    const parts = await run(chain);
    assert.ok(parts.every((p) => p.engine === 'c'));
  });

  it('the primary fails after audio started → the error propagates, no other voice mid-sentence', async () => {
    const failure = new AppError('unavailable', 'dropped');
    const backup = new ScriptedTts('backup');
    const chain = new FallbackTts([new ScriptedTts('primary', { pieces: 1, fail: failure }), backup]);
    const parts: Pcm[] = [];
    await assert.rejects(async () => {
      for await (const pcm of chain.synthesize('Hello.', chain.resolveVoice('Hello.', {}), never)) parts.push(pcm);
    }, failure);
    assert.equal(parts.length, 1);
    assert.equal(backup.calls.length, 0);
  });

  it('the last engine failing too → its error propagates', async () => {
    const last = new AppError('internal', 'broken');
    const chain = new FallbackTts([new ScriptedTts('a', { pieces: 0, fail: new AppError('unavailable', 'down') }), new ScriptedTts('b', { pieces: 0, fail: last })]);
    await assert.rejects(run(chain), last);
  });

  it('an abort is not a reason to fall back', async () => {
    const backup = new ScriptedTts('backup');
    const controller = new AbortController();
    controller.abort(new InterruptedError());
    const chain = new FallbackTts([new ScriptedTts('primary'), backup]);
    await assert.rejects(run(chain, 'Hello.', {}, controller.signal), (e: unknown) => e instanceof AppError && e.kind === 'interrupted');
    assert.equal(backup.calls.length, 0);
  });

  it('an engine interrupted mid-way (the signal aborted) is not replaced', async () => {
    const controller = new AbortController();
    const interrupted = new ScriptedTts('primary', { pieces: 0, fail: new InterruptedError() });
    const backup = new ScriptedTts('backup');
    await assert.rejects(run(new FallbackTts([interrupted, backup]), 'Hello.', {}, controller.signal));
    assert.equal(backup.calls.length, 0);
  });

  it('each engine gets its own voice for the request', async () => {
    const primary = new ScriptedTts('primary', { pieces: 0, fail: new AppError('unavailable', 'down'), voices: { ru: 'nova' } });
    const backup = new ScriptedTts('backup', { voices: { ru: 'ru' } });
    await run(new FallbackTts([primary, backup]), 'Привет.', { language: 'ru' });
    assert.equal(primary.calls[0]!.voice, 'nova');
    assert.equal(backup.calls[0]!.voice, 'ru');
  });

  it('a plain voice id (not from resolveVoice) is resolved by each engine', async () => {
    const primary = new ScriptedTts('primary');
    const chain = new FallbackTts([primary, new ScriptedTts('backup')]);
    for await (const _ of chain.synthesize('Hello.', 'some-voice', never)) break;
    assert.equal(primary.calls[0]!.voice, 'primary-default');
  });

  it('warm: an engine that cannot start is skipped with a warning; the name shows the chain left', async () => {
    const warnings: unknown[] = [];
    const logger = { warn: (...args: unknown[]) => warnings.push(args) } as unknown as import('pino').Logger;
    const broken = new ScriptedTts('broken', { warmFails: true });
    const espeak = new ScriptedTts('espeak');
    const chain = new FallbackTts([broken, espeak], { logger });
    assert.equal(chain.name, 'broken>espeak');
    await chain.warm();
    assert.equal(warnings.length, 1);
    assert.equal(chain.name, 'espeak');
    assert.deepEqual(chain.chain, ['espeak']);
    await run(chain);
    assert.equal(broken.calls.length, 0);
    assert.equal(espeak.calls.length, 1);
  });

  it('warm: the last engine failing fails the chain', async () => {
    await assert.rejects(new FallbackTts([new ScriptedTts('a'), new ScriptedTts('b', { warmFails: true })]).warm(), AppError);
  });

  it('refuses an empty chain', () => {
    assert.throws(() => new FallbackTts([]), AppError);
  });
});
