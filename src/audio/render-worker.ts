import type { MessagePort } from 'node:worker_threads';
import { toAppError } from '../errors.js';
import { loadSpeex } from './speex.js';
import { UtteranceRenderer, type RenderOptions } from './utterance-renderer.js';

/**
 * A conversion worker (src/audio/render-pool.ts): engines that make their audio on the main
 * thread (the cloud engines, which only wait on the network there) send it here as it arrives,
 * one session per utterance, and get the output chunks back. Many sessions share a worker: each
 * part is converted as it comes, and nothing here waits on anything but messages.
 */

/** Main thread → worker, on the session's port. */
export type RenderInput =
  | { readonly type: 'pcm'; readonly samples: Int16Array; readonly sampleRate: number; readonly channels: number }
  | { readonly type: 'end' }
  /** Stop: the worker answers `end` once what came before is sent. */
  | { readonly type: 'cancel' };

/** Worker → main thread: chunks back to back in `bytes`, `frames[i]` frames each; then end or error. */
export type RenderOutput =
  | { readonly type: 'chunks'; readonly bytes: ArrayBuffer; readonly frames: readonly number[] }
  | { readonly type: 'end' }
  | { readonly type: 'error'; readonly kind: string; readonly message: string };

export interface RenderTask {
  readonly port: MessagePort;
  readonly options: RenderOptions;
}

const ready = loadSpeex();
ready.catch(() => undefined);

function send(port: MessagePort, chunks: ReadonlyArray<{ readonly data: Buffer; readonly frames: number }>): void {
  if (chunks.length === 0) return;
  const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.data.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk.data, offset);
    offset += chunk.data.length;
  }
  const message: RenderOutput = { type: 'chunks', bytes: bytes.buffer, frames: chunks.map((c) => c.frames) };
  port.postMessage(message, [bytes.buffer]);
}

/** Piscina's entry: one utterance's session; resolves when it ends, is cancelled or fails. */
export default async function run({ port, options }: RenderTask): Promise<void> {
  await ready;
  const renderer = new UtteranceRenderer(options);
  await new Promise<void>((resolve) => {
    let finished = false;
    const finish = (last?: RenderOutput) => {
      if (finished) return;
      finished = true;
      if (last !== undefined) port.postMessage(last);
      renderer.close();
      port.close();
      resolve();
    };
    port.on('message', (input: RenderInput) => {
      try {
        if (input.type === 'pcm') send(port, renderer.push(input));
        else if (input.type === 'end') {
          send(port, renderer.end());
          finish({ type: 'end' });
        } else finish({ type: 'end' });
      } catch (error) {
        const reason = toAppError(error);
        finish({ type: 'error', kind: reason.kind, message: reason.message });
      }
    });
    port.on('close', () => finish());
  });
}
