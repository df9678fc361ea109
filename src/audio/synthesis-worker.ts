import { parentPort, threadId, workerData } from 'node:worker_threads';
import { toAppError } from '../errors.js';
import { fullGc } from '../malloc-trim.js';
import { ChunkBatch } from './chunk-batch.js';
import type { PcmChunk } from './chunker.js';
import { EspeakTts, type EspeakCatalogue, type EspeakOptions } from './providers/espeak.js';
import { loadSpeex } from './speex.js';
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
}

/** Messages on the worker's parentPort, in order per job: start, audio…, then end or error. */
export type SynthesisMessage =
  | { readonly id: number; readonly type: 'start'; readonly threadId: number }
  /** `render`: chunks back to back in `bytes`, `frames[i]` frames each. */
  | { readonly id: number; readonly type: 'chunks'; readonly bytes: ArrayBuffer; readonly frames: readonly number[] }
  /** `raw`: engine PCM at `sampleRate`, mono. */
  | { readonly id: number; readonly type: 'pcm'; readonly samples: Int16Array; readonly sampleRate: number }
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
  // Loading left garbage (the engine's glue source and its decoded WASM binary, the warm-up's
  // blocks) that an idle worker would keep for good: collected once, before the first job, so that
  // the main thread's trim (src/malloc-trim.ts) can give it back. A few ms, while not yet serving.
  fullGc()();
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

function renderJob(task: SynthesisTask, send: typeof postChunks): void {
  const renderer = new UtteranceRenderer(data.render);
  const batch = new ChunkBatch<PcmChunk>(data.batchBytes, (chunks) => send(task.id, chunks));
  try {
    const sampleRate = tts.sampleRate;
    tts.synthesizeBlocks(task.text, task.voice, (samples) => {
      if (Atomics.load(task.cancel, 0) !== 0) return true;
      batch.add(renderer.push({ samples, sampleRate, channels: 1 }));
      return false;
    });
    if (Atomics.load(task.cancel, 0) === 0) batch.end(renderer.end());
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
