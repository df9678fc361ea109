import { parentPort, threadId, workerData } from 'node:worker_threads';
import { toAppError } from '../errors.js';
import { ChunkBatch } from './chunk-batch.js';
import type { PcmChunk } from './chunker.js';
import { EspeakTts, type EspeakCatalogue, type EspeakOptions } from './providers/espeak.js';
import { loadSpeex } from './speex.js';
import { concatSamples } from './silence.js';
import { UtteranceRenderer, type RenderOptions } from './utterance-renderer.js';

/**
 * One synthesis worker of the pool (src/audio/synthesis-pool.ts): its own eSpeak engine, loaded
 * and warmed before the worker tells the pool it is ready (its default export settles only then,
 * and piscina waits for it), and the whole audio stage (silence, resampling, channels,
 * chunks). Each block the engine's callback hands over is converted at once; a job's first
 * chunks are posted to the main thread (bytes transferred) as soon as they exist, so a sentence's
 * first chunk leaves a few milliseconds after its synthesis starts, and the rest in batches
 * (`ChunkBatch`). A job stops between two blocks once the main thread sets its cancel flag; the
 * chunks it still held are dropped with it.
 *
 * A `render` job with `sliceSec` converts about that much audio, then cuts the utterance in the
 * next pause between sounds and hands the engine's PCM after the cut back to the pool (`rest`),
 * which queues it as the next job of the same stream: the engine itself cannot stop half-way and
 * resume, but the conversion (resampling, chunks) of the rest waits for its turn. Each slice of
 * an utterance is twice as long as the one before: the first audio is cheap, and a long
 * utterance still costs only a few round trips.
 */

/** What the pool gives every worker. */
export interface SynthesisWorkerData {
  readonly espeak: EspeakOptions;
  readonly render: RenderOptions;
  /** A job's chunks after its first go to the main thread in batches of at least this many bytes (`batch_bytes`). */
  readonly batchBytes: number;
  /** The process-wide lock of the native eSpeak library. */
  readonly nativeLock: SharedArrayBuffer;
}

/** One job. `cancel[0]` becomes 1 when the main thread no longer wants its audio. */
export interface SynthesisTask {
  readonly id: number;
  /** `render`: output chunks; `raw`: the engine's PCM (a fallback chain converts it); `catalogue`: voices. */
  readonly kind: 'render' | 'raw' | 'catalogue';
  readonly text: string;
  readonly voice: string;
  readonly cancel: Int32Array;
  /** `render`: after about this many seconds of audio the rest goes back to the pool; absent: none. */
  readonly sliceSec?: number;
  /** `render` this engine PCM (the rest of an utterance an earlier slice began) instead of `text`. */
  readonly rest?: PcmRest;
}

/** Engine PCM after a slice's cut (mono). */
export interface PcmRest {
  readonly samples: Int16Array;
  readonly sampleRate: number;
  /** The slices before it rendered audible audio: its start is not trimmed. */
  readonly continuing: boolean;
  /** Its job's `sliceSec`: twice the slice before, so an utterance costs few slices. */
  readonly sliceSec: number;
}

/** Messages on the worker's parentPort, in order per job: start, audio…, then end or error. */
export type SynthesisMessage =
  | { readonly id: number; readonly type: 'start'; readonly threadId: number }
  /** `render`: chunks back to back in `bytes`, `frames[i]` frames each. */
  | { readonly id: number; readonly type: 'chunks'; readonly bytes: ArrayBuffer; readonly frames: readonly number[] }
  /** `raw`: engine PCM at `sampleRate`, mono. */
  | { readonly id: number; readonly type: 'pcm'; readonly samples: Int16Array; readonly sampleRate: number }
  /** `render` with `sliceSec`: the utterance goes on with this PCM in another job (sent before `end`). */
  | { readonly id: number; readonly type: 'rest'; readonly rest: PcmRest }
  /** `stopped`: the cancel flag ended it early. */
  | { readonly id: number; readonly type: 'end'; readonly stopped: boolean }
  | { readonly id: number; readonly type: 'error'; readonly kind: string; readonly message: string };

const data = workerData as SynthesisWorkerData;
const port = parentPort!;
const tts = new EspeakTts({ ...data.espeak, nativeLock: data.nativeLock });
/**
 * Loading and warming start with the worker. (Not a top-level await: under tsx a worker loads
 * this module through require, which refuses one.)
 */
const ready = (async () => {
  await Promise.all([tts.warm(), loadSpeex()]);
  // The conversion's code is optimised too before the first real sentence.
  const text = data.espeak.warmupText ?? 'Hello.';
  for (let i = 0; i < 3; i++) renderJob({ id: -1, kind: 'render', text, voice: tts.resolveVoice(text, {}), cancel: new Int32Array(1) }, () => undefined);
})();

function post(message: SynthesisMessage, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

/** The chunks of one engine block as one message (one transfer, not one per chunk). */
function postChunks(id: number, chunks: ReadonlyArray<{ readonly data: Buffer; readonly frames: number }>): void {
  if (chunks.length === 0) return;
  let length = 0;
  for (const chunk of chunks) length += chunk.data.length;
  const bytes = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk.data, offset);
    offset += chunk.data.length;
  }
  post({ id, type: 'chunks', bytes: bytes.buffer, frames: chunks.map((c) => c.frames) }, [bytes.buffer]);
}

/** A rest is fed to the renderer in blocks this long (as the engine's own), so a slice ends near its limit. */
const REST_BLOCK_SEC = 0.05;
/** A slice is cut only inside a silent run at least this long: a pause between words or sounds. */
const PAUSE_CUT_MS = 15;

function renderJob(task: SynthesisTask, send: typeof postChunks): void {
  const renderer = new UtteranceRenderer(data.render, task.rest?.continuing ?? false);
  const batch = new ChunkBatch<PcmChunk>(data.batchBytes, (chunks) => send(task.id, chunks));
  try {
    const sampleRate = task.rest?.sampleRate ?? tts.sampleRate;
    const limit = task.sliceSec ?? Number.POSITIVE_INFINITY;
    let rendered = 0;
    /** Engine blocks past the slice's limit: rendered here up to a pause, the rest goes back. */
    const held: Int16Array[] = [];
    const take = (samples: Int16Array): void => {
      if (held.length > 0 || rendered >= limit) {
        held.push(samples);
        return;
      }
      batch.add(renderer.push({ samples, sampleRate, channels: 1 }));
      rendered += samples.length / sampleRate;
    };
    const cancelled = () => Atomics.load(task.cancel, 0) !== 0;
    if (task.rest === undefined) {
      tts.synthesizeBlocks(task.text, task.voice, (samples) => {
        if (cancelled()) return true;
        take(samples);
        return false;
      });
    } else {
      const step = Math.max(1, Math.round(sampleRate * REST_BLOCK_SEC));
      for (let i = 0; i < task.rest.samples.length && !cancelled(); i += step) take(task.rest.samples.subarray(i, i + step));
    }
    if (cancelled()) return;
    const rest = concatSamples(held);
    const cut = rest.length === 0 ? -1 : renderer.pauseCut({ samples: rest, sampleRate, channels: 1 }, PAUSE_CUT_MS);
    if (cut <= 0) {
      // No pause to cut in (or nothing left): the utterance ends in this job.
      batch.add(renderer.push({ samples: rest, sampleRate, channels: 1 }));
      batch.end(renderer.end());
      return;
    }
    batch.add(renderer.push({ samples: rest.subarray(0, cut), sampleRate, channels: 1 }));
    // Every chunk of this slice leaves before the rest is queued: the next slice's come after.
    batch.end(renderer.pause());
    const samples = rest.slice(cut);
    const after: PcmRest = { samples, sampleRate, continuing: renderer.started, sliceSec: 2 * limit };
    post({ id: task.id, type: 'rest', rest: after }, [samples.buffer as ArrayBuffer]);
  } finally {
    renderer.close();
  }
}


function rawJob(task: SynthesisTask): void {
  const sampleRate = tts.sampleRate;
  tts.synthesizeBlocks(task.text, task.voice, (samples) => {
    if (Atomics.load(task.cancel, 0) !== 0) return true;
    post({ id: task.id, type: 'pcm', samples, sampleRate }, [samples.buffer as ArrayBuffer]);
    return false;
  });
}

/** Runs one job; its audio goes out as messages, the result is only a receipt. */
async function run(task: SynthesisTask): Promise<EspeakCatalogue | undefined> {
  if (task.kind === 'catalogue') return tts.catalogue();
  if (Atomics.load(task.cancel, 0) !== 0) {
    post({ id: task.id, type: 'end', stopped: true });
    return undefined;
  }
  post({ id: task.id, type: 'start', threadId });
  try {
    if (task.kind === 'raw') rawJob(task);
    else renderJob(task, postChunks);
    post({ id: task.id, type: 'end', stopped: Atomics.load(task.cancel, 0) !== 0 });
  } catch (error) {
    const reason = toAppError(error);
    post({ id: task.id, type: 'error', kind: reason.kind, message: reason.message });
  }
  return undefined;
}

/**
 * Piscina's entry, once the engine is warm: a worker the pool starts under load takes no job
 * before then, so a job never waits behind a cold start (or its slow first, unoptimised calls)
 * while a warm worker is about to free. An engine that fails to load fails every job of this
 * worker with its error (the pool's start-up check reports it), rather than the worker exiting
 * and being restarted over and over.
 */
export default ready.then(
  () => run,
  (error: unknown) => async (): Promise<never> => {
    throw error;
  },
);
