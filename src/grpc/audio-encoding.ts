import { StreamingServiceService, StreamResponse, WelcomeResponse, type AudioChunk } from '../gen/streaming.js';

/**
 * The response serializers of the two audio streams, with a fast path for the message they send
 * thousands of times a second under load: one audio chunk. The generated encoder writes it
 * through a growable writer (a copy of the audio into its buffers, another into the result, a
 * third into a Buffer); this writes the same bytes, field by field in the generated encoder's
 * order, into one exactly sized Buffer. Every other message, and a chunk with a negative number
 * (never sent), takes the generated encoder. The bytes are the same either
 * way (audio-encoding.test.ts compares them).
 */

/** Field numbers of proto/streaming.proto. */
const STREAM_RESPONSE_AUDIO = 2;
const WELCOME_RESPONSE_AUDIO = 1;
const AUDIO_DATA = 1;
const DTYPE = 2;
const SHAPE = 3;
const SAMPLE_RATE = 4;
const CHANNELS = 5;
const LENGTH_DELIMITED = 2;
const VARINT = 0;

const tag = (field: number, wireType: number): number => (field << 3) | wireType;

/** Bytes of `value` (a non-negative integer below 2^32) as a varint. */
function varintSize(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x200000) return 3;
  if (value < 0x10000000) return 4;
  return 5;
}

function writeVarint(out: Buffer, at: number, value: number): number {
  let v = value;
  while (v >= 0x80) {
    out[at++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  out[at++] = v;
  return at;
}

/**
 * Room for encoded chunks, cut from shared slabs as Node's own pool does for small Buffers (which
 * stops at 4 KB: a 4096-byte chunk's message would get an ArrayBuffer of its own each time).
 * grpc-js copies a serialized message into its frame at once, so a slab is garbage soon after it
 * is used up; nothing is ever reused while a view of it lives.
 */
const SLAB_BYTES = 256 * 1024;
let slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
let slabUsed = 0;

function room(bytes: number): Buffer {
  if (bytes > SLAB_BYTES / 4) return Buffer.allocUnsafeSlow(bytes);
  if (slabUsed + bytes > SLAB_BYTES) {
    slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    slabUsed = 0;
  }
  const out = slab.subarray(slabUsed, slabUsed + bytes);
  // Eight-byte aligned, as Node's pool does.
  slabUsed += (bytes + 7) & ~7;
  return out;
}

/** An int32 that is not negative (its varint needs no sign extension). */
const plain = (n: number): boolean => (n | 0) === n && n >= 0;

/** True when every number of the chunk is one this encoder writes. */
function plainNumbers(chunk: AudioChunk): boolean {
  if (!plain(chunk.sampleRate) || !plain(chunk.channels)) return false;
  for (const n of chunk.shape) if (!plain(n)) return false;
  return true;
}

/**
 * A response whose oneof holds `chunk` in field `field`, as the generated encoder writes it;
 * undefined when a number is negative or not an int32 (the generated encoder then does it).
 */
export function encodeAudioResponse(field: number, chunk: AudioChunk): Buffer | undefined {
  if (!plainNumbers(chunk)) return undefined;
  const data = chunk.audioData;
  const dtypeBytes = chunk.dtype === '' ? 0 : Buffer.byteLength(chunk.dtype, 'utf8');
  let shapeBytes = 0;
  for (const n of chunk.shape) shapeBytes += varintSize(n);
  let inner = 0;
  if (data.length !== 0) inner += 1 + varintSize(data.length) + data.length;
  if (dtypeBytes !== 0) inner += 1 + varintSize(dtypeBytes) + dtypeBytes;
  if (chunk.shape.length !== 0) inner += 1 + varintSize(shapeBytes) + shapeBytes;
  if (chunk.sampleRate !== 0) inner += 1 + varintSize(chunk.sampleRate);
  if (chunk.channels !== 0) inner += 1 + varintSize(chunk.channels);

  const out = room(varintSize(tag(field, LENGTH_DELIMITED)) + varintSize(inner) + inner);
  let at = writeVarint(out, 0, tag(field, LENGTH_DELIMITED));
  at = writeVarint(out, at, inner);
  if (data.length !== 0) {
    out[at++] = tag(AUDIO_DATA, LENGTH_DELIMITED);
    at = writeVarint(out, at, data.length);
    out.set(data, at);
    at += data.length;
  }
  if (dtypeBytes !== 0) {
    out[at++] = tag(DTYPE, LENGTH_DELIMITED);
    at = writeVarint(out, at, dtypeBytes);
    at += out.write(chunk.dtype, at, 'utf8');
  }
  if (chunk.shape.length !== 0) {
    out[at++] = tag(SHAPE, LENGTH_DELIMITED);
    at = writeVarint(out, at, shapeBytes);
    for (const n of chunk.shape) at = writeVarint(out, at, n);
  }
  if (chunk.sampleRate !== 0) {
    out[at++] = tag(SAMPLE_RATE, VARINT);
    at = writeVarint(out, at, chunk.sampleRate);
  }
  if (chunk.channels !== 0) {
    out[at++] = tag(CHANNELS, VARINT);
    writeVarint(out, at, chunk.channels);
  }
  return out;
}

/** The generated encoder's bytes as a Buffer over the same memory (no copy). */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A response type's serializer: audio chunks by hand, everything else by the generated encoder. */
function audioFirst<M extends { readonly content?: unknown }>(field: number, generated: { encode(message: M): { finish(): Uint8Array } }): (message: M) => Buffer {
  return (message) => {
    const content = message.content as { readonly $case: string; readonly audioChunk?: AudioChunk } | undefined;
    if (content?.$case === 'audioChunk' && content.audioChunk !== undefined) {
      const fast = encodeAudioResponse(field, content.audioChunk);
      if (fast !== undefined) return fast;
    }
    return asBuffer(generated.encode(message).finish());
  };
}

export const serializeStreamResponse: (message: StreamResponse) => Buffer = audioFirst(STREAM_RESPONSE_AUDIO, StreamResponse);
export const serializeWelcomeResponse: (message: WelcomeResponse) => Buffer = audioFirst(WELCOME_RESPONSE_AUDIO, WelcomeResponse);

/** StreamingService with the audio streams' response serializers above. */
export function withFastAudioEncoding(definition: typeof StreamingServiceService): typeof StreamingServiceService {
  return {
    ...definition,
    streamAudio: { ...definition.streamAudio, responseSerialize: serializeStreamResponse },
    generateWelcomeAudio: { ...definition.generateWelcomeAudio, responseSerialize: serializeWelcomeResponse },
  };
}
