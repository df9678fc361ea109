import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../config/load.js';
import { AppError } from '../errors.js';
import type { Pcm, TtsProvider } from './provider.js';
import { EspeakTts, espeakOptionsFromConfig } from './providers/espeak.js';
import { RenderPool } from './render-pool.js';
import { renderOptionsFromConfig, SpeechOutput, speechOutputOptionsFromConfig, type AudioPiece } from './speech-output.js';

const audio = loadConfig({ env: {} }).audio_generation;
const never = new AbortController().signal;

/** An engine that replays recorded parts (as a cloud engine's network pieces would arrive). */
class Replay implements TtsProvider {
  readonly name = 'replay';
  constructor(readonly parts: readonly Pcm[], readonly failAfter?: number) {}
  async warm(): Promise<void> {}
  resolveVoice(): string {
    return 'replay';
  }
  async *synthesize(): AsyncIterable<Pcm> {
    for (const [i, part] of this.parts.entries()) {
      if (i === this.failAfter) throw new AppError('unavailable', 'the engine went away');
      await new Promise((resolve) => setImmediate(resolve));
      yield { ...part, samples: part.samples.slice() };
    }
  }
}

async function bytes(pieces: AsyncIterable<AudioPiece>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const piece of pieces) out.push(piece.data);
  return Buffer.concat(out);
}

describe('RenderPool: the audio stage in a worker for engines that speak on the main thread', () => {
  let pool: RenderPool;
  const parts: Pcm[] = [];
  before(async () => {
    pool = new RenderPool({ threads: 1, render: renderOptionsFromConfig(audio) });
    const espeak = new EspeakTts({ ...espeakOptionsFromConfig(audio), engine: 'wasm' });
    await espeak.warm();
    // Cut into network-sized parts, with a pause in the middle: seams and inner silence both matter.
    for await (const pcm of espeak.synthesize('Hello there, this is a test. And after a pause, more.', 'en-us', never)) {
      for (let i = 0; i < pcm.samples.length; i += 3001) parts.push({ ...pcm, samples: pcm.samples.slice(i, i + 3001) });
    }
  });
  after(() => pool.close());

  it('gives the very same bytes as the conversion on the main thread', async () => {
    // One resampling call per part, as in the worker (blocks differ in rounding by a unit or two).
    const here = new SpeechOutput(new Replay(parts), { ...speechOutputOptionsFromConfig(audio), resampleBlockMs: 60_000 });
    const away = new SpeechOutput(new Replay(parts), speechOutputOptionsFromConfig(audio), { converter: pool });
    const [a, b] = [await bytes(here.speak('text', {}, never)), await bytes(away.speak('text', {}, never))];
    assert.ok(a.length > 0);
    assert.deepEqual(b, a);
    await here.close();
  });

  it("an engine's failure comes after the audio converted before it", async () => {
    const away = new SpeechOutput(new Replay(parts, Math.floor(parts.length / 2)), speechOutputOptionsFromConfig(audio), { converter: pool });
    let received = 0;
    await assert.rejects(
      (async () => {
        for await (const piece of away.speak('text', {}, never)) received += piece.frames;
      })(),
      (error: AppError) => error.kind === 'unavailable',
    );
    assert.ok(received > 0);
  });

  it('an abort stops the utterance', async () => {
    const controller = new AbortController();
    const away = new SpeechOutput(new Replay(parts), speechOutputOptionsFromConfig(audio), { converter: pool });
    await assert.rejects(
      (async () => {
        for await (const _ of away.speak('text', {}, controller.signal)) controller.abort(new AppError('interrupted', 'interrupted'));
      })(),
      (error: AppError) => error.kind === 'interrupted',
    );
  });
});
