/**
 * Silence around and inside an utterance. The engine's own leading and trailing silence is
 * trimmed to one fixed pause, so sentences spoken one after another are evenly spaced. Deployed
 * clients drop any chunk whose samples are all zero (and the contract forbids sending one), which
 * would cut pauses out of speech and run sentences together; `fillDigitalSilence` keeps them.
 */

export interface SilenceOptions {
  /** A frame is silent when every channel's |sample| is at most this (int16 units). */
  readonly threshold: number;
  /** Silence left at each trimmed end: the engine's is cut to this, or zeros are added up to it. */
  readonly padMs: number;
}

export interface TrimEnds {
  /** Trim the leading silence (the utterance's first audio). */
  readonly start: boolean;
  /** Trim the trailing silence (the utterance's last audio). */
  readonly end: boolean;
}

function isLoud(samples: Int16Array, frame: number, channels: number, threshold: number): boolean {
  const base = frame * channels;
  for (let c = 0; c < channels; c++) {
    const sample = samples[base + c] ?? 0;
    if (sample > threshold || sample < -threshold) return true;
  }
  return false;
}

/** The parts end to end in one new array (a copy: nothing aliases the parts' memory). */
export function concatSamples(parts: readonly Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((length, part) => length + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** `a` then `b` in one array (`b` itself when `a` is empty): a carried pause and the part after it. */
export function joinSamples(a: Int16Array, b: Int16Array): Int16Array {
  if (a.length === 0) return b;
  const out = new Int16Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Index of the last frame that is not silent, or -1 when all are. */
export function lastLoudFrame(samples: Int16Array, channels: number, threshold: number): number {
  let frame = Math.floor(samples.length / channels) - 1;
  while (frame >= 0 && !isLoud(samples, frame, channels, threshold)) frame--;
  return frame;
}

/**
 * Where speech can be cut without a click: a frame inside the first run of at least `minFrames`
 * silent frames that has audible audio after it, as near its middle as the alignment allows;
 * -1 when there is none. Aligned: `(phase + cut) % align === 0` (a resampler restarted there
 * puts its output samples where a continuous one would have).
 */
export function pauseCut(samples: Int16Array, channels: number, threshold: number, minFrames: number, align = 1, phase = 0): number {
  const frames = Math.floor(samples.length / channels);
  let run = 0;
  for (let frame = 0; frame < frames; frame++) {
    if (!isLoud(samples, frame, channels, threshold)) {
      run++;
      continue;
    }
    const start = frame - run;
    run = 0;
    if (frame - start < minFrames) continue;
    const middle = start + Math.floor((frame - start) / 2);
    const cut = middle - ((((phase + middle) % align) + align) % align);
    const later = cut + align;
    for (const c of later - middle < middle - cut ? [later, cut] : [cut, later]) if (c > start && c < frame) return c;
  }
  return -1;
}

/** Frames of `padMs` at `sampleRate`. */
export function padFrames(padMs: number, sampleRate: number): number {
  return Math.round((padMs * sampleRate) / 1000);
}

/** Exactly `frames` frames of `samples`: cut, or extended with zeros. */
export function fitFrames(samples: Int16Array, channels: number, frames: number): Int16Array {
  if (samples.length === frames * channels) return samples;
  if (samples.length > frames * channels) return samples.subarray(0, frames * channels);
  const out = new Int16Array(frames * channels);
  out.set(samples);
  return out;
}

/**
 * Interleaved int16 `samples` with exactly `padMs` of silence at each chosen end (the audible part
 * untouched). A view when only cutting; a copy when zeros are added. All-silent audio trimmed at
 * either end becomes empty: nothing in it is heard.
 */
export function trimSilence(
  samples: Int16Array,
  channels: number,
  sampleRate: number,
  options: SilenceOptions,
  ends: TrimEnds = { start: true, end: true },
): Int16Array {
  if (!ends.start && !ends.end) return samples;
  const frames = Math.floor(samples.length / channels);
  let first = 0;
  while (first < frames && !isLoud(samples, first, channels, options.threshold)) first++;
  if (first === frames) return samples.subarray(0, 0);
  const last = lastLoudFrame(samples, channels, options.threshold);
  const pad = padFrames(options.padMs, sampleRate);
  const from = ends.start ? first - pad : 0;
  const to = ends.end ? last + 1 + pad : frames;
  if (from >= 0 && to <= frames) return samples.subarray(from * channels, to * channels);
  const out = new Int16Array((to - from) * channels);
  const kept = samples.subarray(Math.max(0, from) * channels, Math.min(frames, to) * channels);
  out.set(kept, Math.max(0, -from) * channels);
  return out;
}

/**
 * Every exact-zero sample replaced by ±1 (alternating by frame, so channels stay identical): an
 * inaudible tone at the Nyquist frequency, about -90 dBFS, that keeps a pause from being an
 * all-zero chunk. Returns the input itself when it holds no zero.
 */
export function fillDigitalSilence(samples: Int16Array, channels: number): Int16Array {
  let out: Int16Array | undefined;
  for (let i = 0; i < samples.length; i++) {
    if (samples[i] !== 0) continue;
    out ??= samples.slice();
    out[i] = Math.floor(i / channels) % 2 === 0 ? 1 : -1;
  }
  return out ?? samples;
}
