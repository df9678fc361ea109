import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { NATIVE_LIBRARY } from '../../src/audio/providers/espeak-native.js';
import { RequestPhase, type AudioChunk, type StreamResponse, type WelcomeResponse } from '../../src/gen/streaming.js';
import { HARDWARE_ID, readStream, RecordingLlm, startTestServer, testConfig, type TestServer } from '../support/harness.js';

/**
 * Issue #15: the deployed client's text-to-speech path (GenerateWelcomeAudio, used when a stream
 * brings text without audio) drops every int16 chunk whose peak |sample| is 24 or less. Here that
 * rule is replayed over what the real server sends (real gRPC, real eSpeak): nothing may be
 * dropped, so the pauses between sentences survive.
 */
const CLIENT_MIN_PEAK = 24;
const RATE = 48000;

const TEXTS = {
  'English update notice': 'Your update is ready. Please restart Nexy.',
  'English, three sentences': 'Hello there. The weather is sunny today! Do you need anything else?',
  'Russian update notice': 'Ваше обновление готово. Пожалуйста, перезапустите Nexy.',
  'Russian greeting': 'Привет! Nexy здесь. Чем могу помочь?',
} as const;

function samplesOf(chunk: AudioChunk): Int16Array {
  const out = new Int16Array(chunk.audioData.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = chunk.audioData.readInt16LE(2 * i);
  return out;
}

const peakOf = (samples: Int16Array) => samples.reduce((m, s) => Math.max(m, Math.abs(s)), 0);

/** What the deployed client keeps: int16 chunks whose peak is above 24. */
function clientKeeps(chunks: readonly AudioChunk[]): AudioChunk[] {
  return chunks.filter((c) => c.dtype !== 'int16' || peakOf(samplesOf(c)) > CLIENT_MIN_PEAK);
}

const seconds = (chunks: readonly AudioChunk[]) => chunks.reduce((n, c) => n + c.audioData.length / 2 / c.channels, 0) / RATE;

/** The longest run of near-silent frames strictly inside the audio (a pause between words or sentences). */
function longestInnerPauseSec(chunks: readonly AudioChunk[]): number {
  const all = chunks.flatMap((c) => [...samplesOf(c)]);
  const loud = all.map((s) => Math.abs(s) > CLIENT_MIN_PEAK);
  const first = loud.indexOf(true);
  const last = loud.lastIndexOf(true);
  let longest = 0;
  let run = 0;
  for (let i = first; i <= last; i++) {
    run = loud[i] ? 0 : run + 1;
    longest = Math.max(longest, run);
  }
  return longest / RATE;
}

/** The client's rule over one reply's audio: every chunk kept, the duration unchanged. */
function assertClientKeepsAll(chunks: readonly AudioChunk[], what: string): void {
  assert.ok(chunks.length > 0, `${what}: no audio`);
  const kept = clientKeeps(chunks);
  const dropped = chunks.filter((c) => !kept.includes(c));
  assert.equal(dropped.length, 0, `${what}: the client drops ${dropped.length} of ${chunks.length} chunks (${seconds(dropped).toFixed(2)} s)`);
  assert.equal(seconds(kept), seconds(chunks), `${what}: duration played = duration sent`);
  for (const c of chunks) {
    assert.equal(c.dtype, 'int16');
    assert.equal(c.sampleRate, RATE);
    assert.deepEqual(c.shape, [c.audioData.length / 2]);
  }
}

// Asked of the dynamic linker's cache: Debian's libespeak-ng is what `engine: native` loads.
const nativeInstalled = (() => {
  try {
    return execFileSync('ldconfig', ['-p'], { encoding: 'utf8' }).includes(NATIVE_LIBRARY);
  } catch {
    return false;
  }
})();

// Both shipped eSpeak builds: the embedded WASM one everywhere, the native one where installed.
for (const engine of ['wasm', 'native'] as const) {
  const skip = engine === 'native' && !nativeInstalled ? `${NATIVE_LIBRARY} is not installed (apt-get install espeak-ng)` : false;
  describe(`no chunk a quiet-dropping client would drop (issue #15), eSpeak ${engine}`, { skip }, () => {
    let t: TestServer;
    const llm = new RecordingLlm((request) => TEXTS[request.prompt as keyof typeof TEXTS] ?? 'Hello.');
    const config = testConfig({ audio_generation: { espeak: { engine }, warm_up_at_start: true } });
    before(async () => {
      t = await startTestServer(config, { llm });
    });
    after(() => t.close());

    const welcome = async (text: string) => {
      const result = await readStream<WelcomeResponse>(t.client.generateWelcomeAudio({ text, sessionId: '', voice: '', language: '' }));
      assert.equal(result.status.code, status.OK);
      const metadata = result.messages[0]?.content?.$case === 'metadata' ? result.messages[0].content.metadata : undefined;
      const chunks = result.messages.flatMap((m) => (m.content?.$case === 'audioChunk' ? [m.content.audioChunk] : []));
      return { metadata, chunks };
    };

    test('the welcome greeting, cached at start-up and spoken again', async () => {
      for (const text of ['', config.audio_generation.welcome.default_text]) {
        const { metadata, chunks } = await welcome(text);
        assert.equal(metadata?.method, 'cache');
        assertClientKeepsAll(chunks, `greeting ${JSON.stringify(text)}`);
        assert.ok(Math.abs((metadata?.durationSec ?? 0) - seconds(clientKeeps(chunks))) < 0.001, 'duration_sec = what the client plays');
        assert.ok(longestInnerPauseSec(clientKeeps(chunks)) > 0.15, 'the pause between its sentences is heard');
      }
    });

    for (const [name, text] of Object.entries(TEXTS)) {
      test(`welcome (the client's text-to-speech path): ${name}`, async () => {
        for (const round of ['synthesized', 'cached']) {
          const { metadata, chunks } = await welcome(text);
          assert.equal(metadata?.method, round === 'cached' ? 'cache' : 'espeak');
          assertClientKeepsAll(chunks, `${name}, ${round}`);
          assert.ok(Math.abs((metadata?.durationSec ?? 0) - seconds(clientKeeps(chunks))) < 0.001, 'duration_sec = what the client plays');
          // The pause between the sentences survives the client's rule (it vanished before the fix).
          assert.ok(longestInnerPauseSec(clientKeeps(chunks)) > 0.15, `${name}: longest pause kept ${longestInnerPauseSec(clientKeeps(chunks)).toFixed(3)} s`);
        }
      });

      test(`StreamAudio: ${name}`, async () => {
        const result = await readStream<StreamResponse>(
          t.client.streamAudio({ prompt: name, hardwareId: HARDWARE_ID, sessionId: '', phase: RequestPhase.REQUEST_PHASE_COMMIT, chunkSeq: 0 }),
        );
        assert.equal(result.status.code, status.OK);
        const texts = result.messages.flatMap((m) => (m.content?.$case === 'textChunk' ? [m.content.textChunk] : []));
        assert.ok(texts.length >= 2, `several sentences: ${JSON.stringify(texts)}`);
        // Each sentence's audio on its own: its leading and closing pause must survive too.
        let sentence: AudioChunk[] = [];
        const sentences: AudioChunk[][] = [];
        for (const m of result.messages) {
          if (m.content?.$case === 'textChunk') sentences.push((sentence = []));
          if (m.content?.$case === 'audioChunk') sentence.push(m.content.audioChunk);
        }
        sentences.forEach((chunks, i) => assertClientKeepsAll(chunks, `${name}, sentence ${i + 1}`));
      });
    }
  });
}
