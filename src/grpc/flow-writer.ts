import type { ServerWritableStream } from '@grpc/grpc-js';
import { AppError } from '../errors.js';

/**
 * Writes to a server stream with flow control: when the transport says stop (`write()` returns
 * false) or more than `highWaterBytes` are queued and not yet handed to HTTP/2, the writer waits
 * — so a slow client makes the turn wait instead of the server buffering unbounded audio.
 */
export class FlowWriter<T> {
  readonly #call: ServerWritableStream<unknown, T>;
  readonly #highWaterBytes: number;
  #queuedBytes = 0;
  #wakeUp: (() => void) | undefined;

  constructor(call: ServerWritableStream<unknown, T>, highWaterBytes: number) {
    this.#call = call;
    this.#highWaterBytes = highWaterBytes;
  }

  /** Bytes written but not yet taken by the transport. */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  async write(message: T, bytes: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new AppError('interrupted', 'interrupted');
    this.#queuedBytes += bytes;
    const ok = this.#call.write(message, () => {
      this.#queuedBytes -= bytes;
      if (this.#queuedBytes <= this.#highWaterBytes) this.#wake();
    });
    if (ok && this.#queuedBytes <= this.#highWaterBytes) return;
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        cleanup();
        reject(signal.reason instanceof Error ? signal.reason : new AppError('interrupted', 'interrupted'));
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

  #wake(): void {
    this.#wakeUp?.();
  }
}
