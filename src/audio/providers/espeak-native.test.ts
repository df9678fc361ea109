import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AppError } from '../../errors.js';
import type { Pcm } from '../provider.js';
import { EspeakTts, type EspeakOptions } from './espeak.js';
import { NATIVE_LIBRARY } from './espeak-native.js';

const options: EspeakOptions = { voices: { default: 'en-us', en: 'en-us', ru: 'ru' }, rateWpm: 175, pitch: 50, maxSegmentChars: 400 };
const never = new AbortController().signal;

async function samples(tts: EspeakTts, text: string): Promise<number> {
  let count = 0;
  for await (const pcm of tts.synthesize(text, tts.resolveVoice(text, {}), never) as AsyncIterable<Pcm>) count += pcm.samples.length;
  return count;
}

/** Whether Debian's library can be loaded here (the `espeak-ng` package installs it). */
async function nativeAvailable(): Promise<boolean> {
  try {
    (await import('koffi')).default.load(NATIVE_LIBRARY);
    return true;
  } catch {
    return false;
  }
}

const installed = await nativeAvailable();
const skip = installed ? false : `${NATIVE_LIBRARY} is not installed (apt-get install espeak-ng): only the WASM build can be tested here`;

describe('native libespeak-ng beside the WASM build', () => {
  const wasm = new EspeakTts({ ...options, engine: 'wasm' });
  const native = new EspeakTts({ ...options, engine: 'native' });
  before(async () => {
    await wasm.warm();
    if (installed) await native.warm();
  });
  after(() => undefined);

  for (const [name, text] of [
    ['English', 'The capital of France is Paris, and it has been for many centuries.'],
    ['Russian', 'Столица Франции — Париж, и так было много веков.'],
  ] as const) {
    it(`${name}: the same number of samples within 10 %`, { skip }, async () => {
      assert.equal((await native.catalogue()).build, 'native');
      assert.equal((await wasm.catalogue()).build, 'wasm');
      const [a, b] = [await samples(native, text), await samples(wasm, text)];
      assert.ok(a > 0 && b > 0);
      assert.ok(Math.abs(a - b) / b <= 0.1, `native ${a} samples, wasm ${b}`);
    });
  }

  it('auto picks the native library when it is installed, else the WASM build', async () => {
    const auto = new EspeakTts({ ...options, engine: 'auto' });
    await auto.warm();
    assert.equal((await auto.catalogue()).build, installed ? 'native' : 'wasm');
  });

  it('native where the library is missing is a clear start-up error', { skip: installed ? 'the library is installed here' : false }, async () => {
    await assert.rejects(new EspeakTts({ ...options, engine: 'native' }).warm(), (error: AppError) => error.kind === 'unavailable');
  });

  it('the native engine streams blocks as it makes them, and stops when asked', { skip }, () => {
    let blocks = 0;
    native.synthesizeBlocks('One two three four five six seven eight nine ten. '.repeat(20), 'en-us', () => ++blocks >= 2);
    assert.equal(blocks, 2);
  });
});
