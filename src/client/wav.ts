/**
 * WAV files from the PCM chunks a Nexy server streams. Pure: bytes in, bytes out.
 *
 * The wire carries raw PCM without headers (docs/PROTOCOL.md, "AudioChunk"); the sample format is named by the
 * chunk's `dtype`. A WAV file is always written as 16-bit little-endian PCM, the format every
 * player reads and the one the server sends by default.
 */

/** One chunk of raw PCM, shaped like the `audio` event of NexyClient and the proto's AudioChunk. */
export interface PcmChunk {
  readonly data: Uint8Array;
  /** `int16` (little-endian), `int16_be` or `float32` (little-endian): what deployed clients accept. */
  readonly dtype: string;
  readonly sampleRate: number;
  readonly channels: number;
}

export interface PcmFormat {
  readonly sampleRate: number;
  readonly channels: number;
}

/** The chunks cannot be written as one WAV file (unknown dtype, torn frames, mixed formats). */
export class WavError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WavError';
  }
}

const INT16_BYTES = 2;
const FLOAT32_BYTES = 4;
const BITS_PER_SAMPLE = INT16_BYTES * 8;
const WAVE_FORMAT_PCM = 1;
/** RIFF header (12) + fmt chunk (8 + 16) + data chunk header (8). */
export const WAV_HEADER_BYTES = 44;
const FMT_CHUNK_BYTES = 16;
/** RIFF sizes are 32-bit; the RIFF size field counts everything after its own 8 bytes. */
const MAX_DATA_BYTES = 0xffff_ffff - (WAV_HEADER_BYTES - 8);
const INT16_MAX = 0x7fff;

function bytesPerSample(dtype: string): number {
  switch (dtype) {
    case 'int16':
    case 'int16_be':
      return INT16_BYTES;
    case 'float32':
      return FLOAT32_BYTES;
    default:
      throw new WavError(`unsupported audio dtype ${JSON.stringify(dtype)}`);
  }
}

function checkFormat(format: PcmFormat): void {
  if (!Number.isInteger(format.sampleRate) || format.sampleRate <= 0) {
    throw new WavError(`invalid sample rate ${format.sampleRate}`);
  }
  if (!Number.isInteger(format.channels) || format.channels <= 0) {
    throw new WavError(`invalid channel count ${format.channels}`);
  }
}

/** The chunk's samples as 16-bit little-endian PCM (a copy only when the dtype needs converting). */
export function toInt16Le(chunk: PcmChunk): Buffer {
  checkFormat(chunk);
  const sampleBytes = bytesPerSample(chunk.dtype);
  const frameBytes = sampleBytes * chunk.channels;
  if (chunk.data.byteLength % frameBytes !== 0) {
    throw new WavError(`a ${chunk.dtype} chunk of ${chunk.data.byteLength} bytes does not hold whole frames of ${chunk.channels} channel(s)`);
  }
  const view = new DataView(chunk.data.buffer, chunk.data.byteOffset, chunk.data.byteLength);
  const samples = chunk.data.byteLength / sampleBytes;
  if (chunk.dtype === 'int16') return Buffer.from(chunk.data.buffer, chunk.data.byteOffset, chunk.data.byteLength);
  const out = Buffer.alloc(samples * INT16_BYTES);
  for (let i = 0; i < samples; i++) {
    const value =
      chunk.dtype === 'int16_be'
        ? view.getInt16(i * INT16_BYTES, false)
        : Math.round(Math.max(-1, Math.min(1, view.getFloat32(i * FLOAT32_BYTES, true))) * INT16_MAX);
    out.writeInt16LE(value, i * INT16_BYTES);
  }
  return out;
}

/** The 44-byte header of a 16-bit PCM WAV file holding `dataBytes` bytes of samples. */
export function wavHeader(format: PcmFormat, dataBytes: number): Buffer {
  checkFormat(format);
  if (!Number.isInteger(dataBytes) || dataBytes < 0 || dataBytes > MAX_DATA_BYTES) {
    throw new WavError(`${dataBytes} bytes of audio do not fit in a WAV file`);
  }
  const blockAlign = format.channels * INT16_BYTES;
  const header = Buffer.alloc(WAV_HEADER_BYTES);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(WAV_HEADER_BYTES - 8 + dataBytes, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(FMT_CHUNK_BYTES, 16);
  header.writeUInt16LE(WAVE_FORMAT_PCM, 20);
  header.writeUInt16LE(format.channels, 22);
  header.writeUInt32LE(format.sampleRate, 24);
  header.writeUInt32LE(format.sampleRate * blockAlign, 28);
  header.writeUInt16LE(blockAlign, 32);
  header.writeUInt16LE(BITS_PER_SAMPLE, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(dataBytes, 40);
  return header;
}

/**
 * A header for audio of unknown length, for streaming to a player's stdin: the sizes say "as much
 * as fits", and players that read from a pipe read until the end of the stream.
 */
export function streamingWavHeader(format: PcmFormat): Buffer {
  return wavHeader(format, MAX_DATA_BYTES);
}

/**
 * Collects chunks as they stream and builds the file at the end. Every chunk must have the
 * format of the first: a WAV file has one, and silently resampling would hide a server bug.
 */
export class WavBuilder {
  readonly #parts: Buffer[] = [];
  #format: PcmFormat | undefined;
  #bytes = 0;

  /** The format of the first chunk, once one was added. */
  get format(): PcmFormat | undefined {
    return this.#format;
  }

  /** Frames (samples per channel) added so far. */
  get frames(): number {
    return this.#format ? this.#bytes / (INT16_BYTES * this.#format.channels) : 0;
  }

  /** Seconds of audio added so far. */
  get durationSec(): number {
    return this.#format ? this.frames / this.#format.sampleRate : 0;
  }

  add(chunk: PcmChunk): void {
    const pcm = toInt16Le(chunk);
    const format = this.#format;
    if (format && (format.sampleRate !== chunk.sampleRate || format.channels !== chunk.channels)) {
      throw new WavError(
        `audio format changed mid-stream (${format.sampleRate} Hz × ${format.channels} → ${chunk.sampleRate} Hz × ${chunk.channels})`,
      );
    }
    this.#format ??= { sampleRate: chunk.sampleRate, channels: chunk.channels };
    this.#parts.push(pcm);
    this.#bytes += pcm.byteLength;
  }

  /** The whole file. `fallback` gives the format of an empty file; without it, no audio is an error. */
  toBuffer(fallback?: PcmFormat): Buffer {
    const format = this.#format ?? fallback;
    if (!format) throw new WavError('no audio to write');
    return Buffer.concat([wavHeader(format, this.#bytes), ...this.#parts]);
  }
}

/** One WAV file (16-bit PCM) from chunks of one format. */
export function encodeWav(chunks: Iterable<PcmChunk>, fallback?: PcmFormat): Buffer {
  const builder = new WavBuilder();
  for (const chunk of chunks) builder.add(chunk);
  return builder.toBuffer(fallback);
}
