import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { Logger } from 'pino';
import { AppError, toAppError, type ErrorKind } from '../errors.js';
import type { Pcm } from './provider.js';
import type { RenderInput, RenderOutput, RenderTask } from './render-worker.js';
import type { AudioPiece, PcmConverter } from './speech-output.js';
import type { RenderOptions } from './utterance-renderer.js';
import { workerModule } from './worker-file.js';

/**
 * The audio stage off the event loop for engines whose PCM arrives on the main thread (OpenAI
 * speech, Edge, a fallback chain): each utterance is a session on a worker thread; the engine's
 * parts go in as they arrive and the chunks come back, bytes transferred both ways. A session
 * waits on the network most of its life, so one worker holds many at once.
 */

export interface RenderPoolOptions {
  readonly threads: number;
  readonly render: RenderOptions;
  readonly logger?: Logger;
}

/** Sessions one worker holds at once (each costs a resampler state and a port). */
const SESSIONS_PER_WORKER = 1024;


export class RenderPool implements PcmConverter {
  readonly #options: RenderPoolOptions;
  readonly #piscina: Piscina;

  constructor(options: RenderPoolOptions) {
    this.#options = options;
    const worker = workerModule('render-worker');
    this.#piscina = new Piscina({
      filename: worker.url.href,
      minThreads: options.threads,
      maxThreads: options.threads,
      idleTimeout: Number.POSITIVE_INFINITY,
      concurrentTasksPerWorker: SESSIONS_PER_WORKER,
      atomics: 'disabled',
      execArgv: worker.execArgv,
      recordTiming: false,
    });
    this.#piscina.on('error', (error: unknown) => options.logger?.error({ err: error }, 'audio conversion worker failed'));
  }

  /**
   * `parts` converted to output chunks in a worker, as they arrive. An error of `parts` is
   * thrown after the chunks made before it; an abort stops both sides.
   */
  async *convert(parts: AsyncIterable<Pcm>, signal: AbortSignal): AsyncGenerator<AudioPiece> {
    const { port1, port2 } = new MessageChannel();
    const out: AudioPiece[] = [];
    const state: { done: boolean; error: unknown } = { done: false, error: undefined };
    let engineError: unknown;
    let wake: (() => void) | undefined;
    const resume = () => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    const fail = (error: unknown) => {
      if (state.done) return;
      state.done = true;
      state.error = error;
      resume();
    };
    const { sampleRate, channels } = this.#options.render;
    const frameBytes = channels * Int16Array.BYTES_PER_ELEMENT;
    port1.on('message', (message: RenderOutput) => {
      if (message.type === 'chunks') {
        let offset = 0;
        for (const frames of message.frames) {
          out.push({ data: Buffer.from(message.bytes, offset, frames * frameBytes), frames, sampleRate, channels });
          offset += frames * frameBytes;
        }
      } else if (message.type === 'end') {
        // An engine failure surfaces here: after every chunk converted before it.
        if (engineError !== undefined) fail(engineError);
        else state.done = true;
      } else fail(new AppError(message.kind as ErrorKind, message.message));
      resume();
    });
    const task: RenderTask = { port: port2, options: this.#options.render };
    this.#piscina.run(task, { transferList: [port2] }).catch((error: unknown) => {
      this.#options.logger?.error({ err: error }, 'audio conversion worker stopped during an utterance');
      fail(new AppError('unavailable', 'the audio conversion stopped unexpectedly', { cause: error }));
    });
    signal.addEventListener('abort', resume, { once: true });
    const post = (input: RenderInput, transfer: ArrayBuffer[] = []) => port1.postMessage(input, transfer);
    // The engine is read on its own task, so its next part is fetched while chunks go out.
    const pump = (async () => {
      try {
        for await (const pcm of parts) {
          if (state.done) return;
          // A copy when the part is a view of a larger buffer: only whole buffers can be moved.
          const samples = pcm.samples.byteOffset === 0 && pcm.samples.byteLength === pcm.samples.buffer.byteLength ? pcm.samples : pcm.samples.slice();
          post({ type: 'pcm', samples, sampleRate: pcm.sampleRate, channels: pcm.channels }, [samples.buffer as ArrayBuffer]);
        }
        post({ type: 'end' });
      } catch (error) {
        engineError = error;
        post({ type: 'cancel' });
      }
    })();
    try {
      for (;;) {
        if (signal.aborted) throw toAppError(signal.reason, signal);
        const piece = out.shift();
        if (piece !== undefined) {
          yield piece;
          continue;
        }
        if (state.done) {
          if (state.error !== undefined) throw state.error;
          return;
        }
        await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      signal.removeEventListener('abort', resume);
      if (!state.done) {
        state.done = true;
        post({ type: 'cancel' });
      }
      // Not awaited: the engine may be waiting on the network; the pump ends at its next part.
      void pump;
      port1.close();
    }
  }

  async close(): Promise<void> {
    await this.#piscina.destroy();
  }
}
