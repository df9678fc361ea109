import type { ServerWritableStream } from '@grpc/grpc-js';
import { AppError } from '../errors.js';

/** Told of every change to the bytes a writer holds (a Prometheus gauge over all streams fits). */
export interface QueuedBytesObserver {
  inc(bytes: number): void;
  dec(bytes: number): void;
}

export interface FlowWriterOptions {
  /** `grpc.stream_high_water_bytes`: past this many queued bytes a write waits. */
  readonly highWaterBytes: number;
  readonly queued?: QueuedBytesObserver;
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new AppError('interrupted', 'interrupted');
}

/**
 * Writes to a server stream with flow control: when the transport says stop (`write()` returns
 * false) or more than `highWaterBytes` are queued and not yet handed to HTTP/2, the writer waits
 * — so a slow client makes the turn wait instead of the server buffering unbounded audio. What a
 * stream holds is thus at most `highWaterBytes` plus one message, whatever the client does.
 */
export class FlowWriter<T> {
  readonly #call: ServerWritableStream<unknown, T>;
  readonly #highWaterBytes: number;
  readonly #observer: QueuedBytesObserver | undefined;
  #queuedBytes = 0;
  #peakBytes = 0;
  #closed = false;
  #wakeUp: (() => void) | undefined;

  constructor(call: ServerWritableStream<unknown, T>, options: FlowWriterOptions) {
    this.#call = call;
    this.#highWaterBytes = options.highWaterBytes;
    this.#observer = options.queued;
  }

  /** Bytes written but not yet taken by the transport. */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  /** The most bytes that were queued at once. */
  get peakQueuedBytes(): number {
    return this.#peakBytes;
  }

  async write(message: T, bytes: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) throw abortReason(signal);
    this.#queuedBytes += bytes;
    if (this.#queuedBytes > this.#peakBytes) this.#peakBytes = this.#queuedBytes;
    if (!this.#closed) this.#observer?.inc(bytes);
    const ok = this.#call.write(message, () => {
      this.#queuedBytes -= bytes;
      if (!this.#closed) this.#observer?.dec(bytes);
      if (this.#queuedBytes <= this.#highWaterBytes) this.#wakeUp?.();
    });
    if (ok && this.#queuedBytes <= this.#highWaterBytes) return;
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        cleanup();
        reject(abortReason(signal));
      };
      const onDrain = () => {
        if (this.#queuedBytes > this.#highWaterBytes) return;
        cleanup();
        resolve();
      };
      const cleanup = () => {
        this.#wakeUp = undefined;
        this.#call.off('drain', onDrain);
        signal.removeEventListener('abort', onAbort);
      };
      this.#wakeUp = onDrain;
      this.#call.on('drain', onDrain);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * The call is over: what is still queued stops counting for the observer (a cancelled call's
   * writes never complete, and a gauge must not keep them forever).
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#queuedBytes > 0) this.#observer?.dec(this.#queuedBytes);
  }
}
