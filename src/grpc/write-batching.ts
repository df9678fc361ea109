import type { ServerWritableStream } from '@grpc/grpc-js';

/**
 * grpc-js's server stream is an object-mode Writable with only `_write`: it hands HTTP/2 one
 * message, waits until that write has gone out on the socket, then hands over the next. A reply
 * of a thousand audio chunks thus costs a thousand rounds of the event loop, each with its own
 * HTTP/2 flush and socket write (`writev`), however many chunks were ready at once.
 *
 * Node's Writable passes every message queued behind the one in flight to `_writev` in one call
 * when the stream has one. This gives the call a `_writev` that hands them all to grpc-js's
 * per-message send at once, in order: a batch goes out in one or two HTTP/2 flushes and socket
 * writes instead of one per message (HTTP/2 still frames each message). Order, callbacks and
 * backpressure (`write()`'s return value, 'drain') stay the Writable's. The send is grpc-js's own (`ServerInterceptingCall.sendMessage`,
 * the one `_write` calls), reached through the stream's `call` field, which grpc-js does not
 * export: when it is missing (another grpc-js), the stream is left as it was and still works,
 * one message per round. The server installs no interceptors, so no send waits on metadata.
 *
 * Returns whether batching is on (a test pins it for the grpc-js version in the lockfile).
 */
export function sendQueuedTogether(call: ServerWritableStream<unknown, unknown>): boolean {
  const inner = (call as unknown as { call?: { sendMessage?: unknown } }).call;
  const sendMessage = inner?.sendMessage;
  if (typeof sendMessage !== 'function') return false;
  const send = sendMessage as (message: unknown, done: () => void) => void;
  const stream = call as unknown as { _writev?: (chunks: ReadonlyArray<{ chunk: unknown }>, done: (error?: Error | null) => void) => void };
  stream._writev = (chunks, done) => {
    const last = chunks.length - 1;
    // Messages go out in order, so the last one's completion is the batch's.
    for (let i = 0; i < last; i++) send.call(inner, chunks[i]!.chunk, ignore);
    send.call(inner, chunks[last]!.chunk, done);
  };
  return true;
}

function ignore(): void {}
