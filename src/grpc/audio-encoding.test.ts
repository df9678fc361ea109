import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { StreamingServiceService, StreamResponse, WelcomeResponse, type AudioChunk } from '../gen/streaming.js';
import { encodeAudioResponse, serializeStreamResponse, serializeWelcomeResponse, withFastAudioEncoding } from './audio-encoding.js';

const generatedStream = (message: StreamResponse): Buffer => Buffer.from(StreamResponse.encode(message).finish());
const generatedWelcome = (message: WelcomeResponse): Buffer => Buffer.from(WelcomeResponse.encode(message).finish());

function pcm(bytes: number): Buffer {
  const data = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) data[i] = (i * 37 + 11) & 0xff;
  return data;
}

const chunk = (overrides: Partial<AudioChunk> = {}): AudioChunk => ({
  audioData: pcm(4096),
  dtype: 'int16',
  shape: [2048],
  sampleRate: 48000,
  channels: 1,
  ...overrides,
});

/** Chunks whose encodings cover every varint width and every field left out. */
const cases: Array<[string, AudioChunk]> = [
  ['the shipped chunk: 4096 bytes, 48 kHz mono', chunk()],
  ['the last, short chunk of an utterance', chunk({ audioData: pcm(100), shape: [50] })],
  ['a chunk grown past chunk_bytes (three-byte length)', chunk({ audioData: pcm(49152), shape: [24576] })],
  ['a length needing four bytes', chunk({ audioData: pcm(2_100_000), shape: [1_050_000] })],
  ['stereo: two numbers in shape', chunk({ audioData: pcm(4096), shape: [1024, 2], channels: 2 })],
  ['empty audio, dtype and shape left out', chunk({ audioData: Buffer.alloc(0), dtype: '', shape: [] })],
  ['sample rate and channels zero (left out)', chunk({ sampleRate: 0, channels: 0 })],
  ['a shape entry of zero and a large rate', chunk({ shape: [0, 127, 128, 16384, 2 ** 31 - 1], sampleRate: 2 ** 31 - 1 })],
  ['a dtype beyond ASCII', chunk({ dtype: 'ïnt16' })],
];

describe('audio response encoding', () => {
  for (const [name, audioChunk] of cases) {
    test(`StreamResponse audio_chunk, ${name}: the generated encoder's bytes`, () => {
      const message: StreamResponse = { content: { $case: 'audioChunk', audioChunk } };
      const fast = encodeAudioResponse(2, audioChunk);
      assert.ok(fast !== undefined, 'the fast path takes it');
      assert.deepEqual(fast, generatedStream(message));
      assert.deepEqual(serializeStreamResponse(message), generatedStream(message));
      const decoded = StreamResponse.decode(fast);
      assert.equal(decoded.content?.$case, 'audioChunk');
    });

    test(`WelcomeResponse audio_chunk, ${name}: the generated encoder's bytes`, () => {
      const message: WelcomeResponse = { content: { $case: 'audioChunk', audioChunk } };
      assert.deepEqual(serializeWelcomeResponse(message), generatedWelcome(message));
    });
  }

  test('a decoded chunk is the chunk that was encoded', () => {
    const audioChunk = chunk({ shape: [1024, 2], channels: 2 });
    const decoded = StreamResponse.decode(serializeStreamResponse({ content: { $case: 'audioChunk', audioChunk } }));
    assert.deepEqual(decoded, { content: { $case: 'audioChunk', audioChunk } });
  });

  test('negative or non-integer numbers leave the fast path; the generated encoder writes them', () => {
    for (const odd of [chunk({ sampleRate: -1 }), chunk({ channels: -2 }), chunk({ shape: [-5] }), chunk({ shape: [1.5] })]) {
      assert.equal(encodeAudioResponse(2, odd), undefined);
      if (Number.isInteger(odd.shape[0])) {
        const message: StreamResponse = { content: { $case: 'audioChunk', audioChunk: odd } };
        assert.deepEqual(serializeStreamResponse(message), generatedStream(message));
      }
    }
  });

  test('every other message is the generated encoder\'s', () => {
    const messages: StreamResponse[] = [
      { content: { $case: 'textChunk', textChunk: 'Hello there. Привет.' } },
      { content: { $case: 'endMessage', endMessage: 'completed' } },
      { content: { $case: 'errorMessage', errorMessage: 'invalid request' } },
      { content: { $case: 'actionMessage', actionMessage: { actionJson: '{"a":1}', sessionId: 's', featureId: 'f' } } },
      { content: undefined },
    ];
    for (const message of messages) assert.deepEqual(serializeStreamResponse(message), generatedStream(message));
    const welcome: WelcomeResponse = { content: { $case: 'metadata', metadata: { method: 'espeak', durationSec: 1.5, sampleRate: 48000, channels: 1, dtype: 'int16' } } };
    assert.deepEqual(serializeWelcomeResponse(welcome), generatedWelcome(welcome));
  });

  test('the service definition differs only in the two audio streams\' response serializers', () => {
    const fast = withFastAudioEncoding(StreamingServiceService);
    assert.equal(fast.streamAudio.responseSerialize, serializeStreamResponse);
    assert.equal(fast.generateWelcomeAudio.responseSerialize, serializeWelcomeResponse);
    assert.equal(fast.streamAudio.path, StreamingServiceService.streamAudio.path);
    assert.equal(fast.streamAudio.requestDeserialize, StreamingServiceService.streamAudio.requestDeserialize);
    assert.equal(fast.interruptSession, StreamingServiceService.interruptSession);
    assert.equal(fast.reportUsage, StreamingServiceService.reportUsage);
  });
});
