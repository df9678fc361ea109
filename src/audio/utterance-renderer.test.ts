import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { loadConfig } from '../config/load.js';
import { EspeakTts, espeakOptionsFromConfig } from './providers/espeak.js';
import { concatSamples, pauseCut } from './silence.js';
import { renderOptionsFromConfig } from './speech-output.js';
import { loadSpeex } from './speex.js';
import { UtteranceRenderer } from './utterance-renderer.js';
import type { PcmChunk } from './chunker.js';

const audio = loadConfig({ env: {} }).audio_generation;
const options = renderOptionsFromConfig(audio);

const samplesOf = (chunks: readonly PcmChunk[]): Int16Array => concatSamples(chunks.map((c) => new Int16Array(c.data.buffer, c.data.byteOffset, c.data.length / 2)));

describe('UtteranceRenderer: an utterance rendered in slices', () => {
  let speech: Int16Array;
  let rate: number;
  before(async () => {
    await loadSpeex();
    const tts = new EspeakTts({ ...espeakOptionsFromConfig(audio), engine: 'wasm' });
    await tts.warm();
    const blocks: Int16Array[] = [];
    rate = tts.synthesizeBlocks('Paris is the capital of France, and it has been for more than a thousand years.', 'en-us', (b) => {
      blocks.push(b);
      return false;
    });
    speech = concatSamples(blocks);
  });

  it('cut in a pause and taken up by a continuing renderer, it is the same audio as rendered whole', () => {
    const whole = new UtteranceRenderer(options);
    const reference = samplesOf([...whole.push({ samples: speech, sampleRate: rate, channels: 1 }), ...whole.end()]);
    whole.close();

    // Half a second, then up to the first pause of at least 15 ms after it.
    const from = Math.round(rate / 2);
    const first = new UtteranceRenderer(options);
    const head = first.push({ samples: speech.subarray(0, from), sampleRate: rate, channels: 1 });
    const cut = from + first.pauseCut({ samples: speech.subarray(from), sampleRate: rate, channels: 1 }, 15);
    assert.ok(cut > from, 'eSpeak leaves pauses between sounds');
    head.push(...first.push({ samples: speech.subarray(from, cut), sampleRate: rate, channels: 1 }), ...first.pause());
    assert.ok(first.started);
    first.close();
    const second = new UtteranceRenderer(options, true);
    const tail = [...second.push({ samples: speech.subarray(cut), sampleRate: rate, channels: 1 }), ...second.end()];
    second.close();
    const sliced = concatSamples([samplesOf(head), samplesOf(tail)]);

    // The same length, the same samples but in the silence around the cut, where the resampler
    // restarted (the cut is where its output samples fall at the same instants).
    assert.equal(sliced.length, reference.length);
    let worst = 0;
    for (let i = 0; i < Math.min(sliced.length, reference.length); i++) worst = Math.max(worst, Math.abs(sliced[i]! - reference[i]!));
    assert.ok(worst <= 4 * options.silenceThreshold, `largest difference ${worst}`);
    // No near-silent chunk at the seam (deployed clients would drop it).
    for (const chunk of [head.at(-1)!, tail[0]!]) {
      const s = new Int16Array(chunk.data.buffer, chunk.data.byteOffset, chunk.data.length / 2);
      assert.ok(s.some((v) => Math.abs(v) > audio.min_chunk_peak), 'the chunks at the seam carry speech');
    }
  });

  it('a continuing renderer keeps the silence it starts with (an inner pause), a new one trims it', () => {
    const pause = new Int16Array(Math.round(rate / 2)); // 500 ms of silence, then a tone
    const tone = Int16Array.from({ length: rate / 10 }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate)));
    const pcm = { samples: concatSamples([pause, tone]), sampleRate: rate, channels: 1 };
    const frames = (r: UtteranceRenderer) => samplesOf([...r.push(pcm), ...r.end()]).length;
    const fresh = frames(new UtteranceRenderer(options));
    const continuing = frames(new UtteranceRenderer(options, true));
    assert.ok(continuing - fresh > 0.4 * options.sampleRate, `${continuing} vs ${fresh} frames`);
  });
});

describe('pauseCut', () => {
  const loud = (n: number) => new Int16Array(n).fill(1000);
  const quiet = (n: number) => new Int16Array(n).fill(3);
  it('aligned: the frame nearest the middle where (phase + cut) is a multiple of align', () => {
    const samples = concatSamples([loud(5), quiet(40), loud(4)]); // run 5..45, middle 25
    assert.equal(pauseCut(samples, 1, 8, 8, 7, 0), 28);
    assert.equal(pauseCut(samples, 1, 8, 8, 7, 3), 25);
    assert.equal(pauseCut(samples, 1, 8, 8, 50, 0), -1, 'no aligned frame inside the run');
  });
  const cases: Array<[string, Int16Array, number]> = [
    ['the middle of the first long enough pause with sound after it', concatSamples([loud(5), quiet(2), loud(3), quiet(10), loud(4)]), 15],
    ['a pause at the start counts', concatSamples([quiet(10), loud(4)]), 5],
    ['a pause at the end does not (nothing to cut off)', concatSamples([loud(4), quiet(20)]), -1],
    ['no pause', loud(30), -1],
  ];
  for (const [name, samples, expected] of cases) it(name, () => assert.equal(pauseCut(samples, 1, 8, 8), expected));
});
