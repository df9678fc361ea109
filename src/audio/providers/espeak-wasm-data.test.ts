import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import init from '@echogarden/espeak-ng-emscripten';
import { lazyDataOptions } from './espeak-wasm-data.js';

/** Samples of each text, in order, from one engine: voices switch, so dictionaries are read (again). */
async function speakAll(options: Record<string, unknown>, texts: ReadonlyArray<readonly [string, string]>): Promise<number[]> {
  const engine = new (await init(options)).eSpeakNGWorker();
  return texts.map(([voice, text]) => {
    assert.equal(engine.set_voice(voice), 0, `voice ${voice}`);
    let samples = 0;
    engine.synthesize(text, (block) => {
      samples += block.length;
      return false;
    });
    return samples;
  });
}

describe('the WASM eSpeak data, dictionaries read when the engine uses them', () => {
  it('finds the package file table in the glue (a glue update that moves it shows here)', () => {
    const options = lazyDataOptions();
    assert.equal(typeof options.getPreloadedPackage, 'function');
    assert.ok('FS_createDataFile' in options);
  });

  it('speaks as the fully loaded engine does: each language, switches back and forth, a word in another script', async () => {
    const texts = [
      ['en-us', 'Hello there, this is a short test.'],
      ['ru', 'Привет! Это проверка синтезатора речи.'],
      ['de', 'Guten Tag, wie geht es dir heute?'],
      ['en-us', 'Back to English, with a Russian word: привет.'],
      ['ru', 'Снова по-русски.'],
    ] as const;
    const lazy = await speakAll(lazyDataOptions(), texts);
    const full = await speakAll({}, texts);
    for (const [i, [voice]] of texts.entries()) {
      assert.ok(lazy[i]! > 0, `${voice}: no audio`);
      // eSpeak's audio varies by a few samples from call to call; a missing dictionary would not.
      assert.ok(Math.abs(lazy[i]! - full[i]!) <= full[i]! * 0.02, `${voice} #${i}: ${lazy[i]} vs ${full[i]} samples`);
    }
  });
});
