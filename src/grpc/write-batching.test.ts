import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { credentials, Server, ServerCredentials, type ServerWritableStream, type StatusObject } from '@grpc/grpc-js';
import { RequestPhase, StreamingServiceClient, StreamingServiceService, type StreamRequest, type StreamResponse, type StreamingServiceServer } from '../gen/streaming.js';
import { sendQueuedTogether } from './write-batching.js';

const MESSAGES = 300;
const CHUNK_BYTES = 4096;

/** Message i of a reply: its index in the audio bytes, so order and content can be checked. */
function message(i: number): StreamResponse {
  const audioData = Buffer.alloc(CHUNK_BYTES, i & 0xff);
  audioData.writeUInt32LE(i, 0);
  return { content: { $case: 'audioChunk', audioChunk: { audioData, dtype: 'int16', shape: [CHUNK_BYTES / 2], sampleRate: 48000, channels: 1 } } };
}

interface Observed {
  batching: boolean;
  /** Sizes of the batches grpc-js's Writable handed to `_writev`. */
  batches: number[];
  /** Write callbacks that fired, in the order they fired. */
  completed: number[];
}

describe('sendQueuedTogether: a server stream hands queued messages to HTTP/2 together', () => {
  let server: Server;
  let client: StreamingServiceClient;
  let observed: Observed;

  before(async () => {
    server = new Server();
    const handlers: Partial<StreamingServiceServer> = {
      streamAudio: (call: ServerWritableStream<StreamRequest, StreamResponse>) => {
        const batching = sendQueuedTogether(call);
        const stream = call as unknown as { _writev: (chunks: unknown[], done: () => void) => void };
        const writev = stream._writev;
        observed = { batching, batches: [], completed: [] };
        if (batching) {
          stream._writev = (chunks, done) => {
            observed.batches.push(chunks.length);
            writev(chunks, done);
          };
        }
        // All at once, as a worker's batch of chunks arrives: no write waits for another.
        for (let i = 0; i < MESSAGES; i++) call.write(message(i), () => observed.completed.push(i));
        call.end();
      },
    };
    server.addService(StreamingServiceService, handlers as StreamingServiceServer);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
    );
    client = new StreamingServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
  });

  after(() => {
    client.close();
    server.forceShutdown();
  });

  test('every message arrives once, in order, with its bytes; each write completes, in order; several went as one batch', async () => {
    const call = client.streamAudio({ prompt: 'p', hardwareId: 'h', sessionId: '', phase: RequestPhase.REQUEST_PHASE_COMMIT, chunkSeq: 0 });
    const received: StreamResponse[] = [];
    call.on('data', (m: StreamResponse) => received.push(m));
    const status = await new Promise<StatusObject>((resolve) => call.on('status', resolve));

    assert.equal(status.code, 0);
    assert.equal(observed.batching, true, 'grpc-js (the version in the lockfile) has the send this relies on');
    assert.equal(received.length, MESSAGES);
    received.forEach((m, i) => assert.deepEqual(m, message(i), `message ${i}`));
    assert.deepEqual(
      observed.completed,
      Array.from({ length: MESSAGES }, (_, i) => i),
    );
    assert.ok(
      observed.batches.some((n) => n > 1),
      `messages queued behind the one in flight go to HTTP/2 together (batches: ${observed.batches.join(', ')})`,
    );
    assert.ok(observed.batches.length < MESSAGES / 2, `far fewer hand-overs than messages (${observed.batches.length})`);
  });

  test('a stream whose grpc-js send cannot be found is left as it was', () => {
    const plain = { write: () => true } as unknown as ServerWritableStream<unknown, unknown>;
    assert.equal(sendQueuedTogether(plain), false);
    assert.equal((plain as unknown as { _writev?: unknown })._writev, undefined);
  });
});
