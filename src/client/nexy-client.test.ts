import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import { after, before, beforeEach, describe, test } from 'node:test';
import { Metadata, Server, ServerCredentials, status, type ServerUnaryCall, type ServerWritableStream } from '@grpc/grpc-js';
import {
  RequestPhase,
  StreamingServiceService,
  type InterruptRequest,
  type InterruptResponse,
  type StreamRequest,
  type StreamResponse,
  type StreamingServiceServer,
  type UsageRequest,
  type WelcomeRequest,
  type WelcomeResponse,
} from '../gen/streaming.js';
import { NexyClient, NexyClientError, type NexyStream } from './nexy-client.js';

/**
 * A scripted StreamingService on a real port: the SDK is tested against the wire, not against
 * the project's server (whose behaviour test/e2e covers).
 */
interface Script {
  stream?: (call: ServerWritableStream<StreamRequest, StreamResponse>) => void;
  interruptFailures: number;
  interruptCode: status;
  interruptCalls: number;
  lastMetadata?: Metadata;
  cancelled: number;
}

const REQUEST: StreamRequest = {
  prompt: 'hi',
  hardwareId: 'HW-1',
  sessionId: 's-1',
  phase: RequestPhase.REQUEST_PHASE_COMMIT,
  chunkSeq: 0,
};

/** Node 20 has no Promise.withResolvers. */
function deferred<T>(): { promise: Promise<T>; resolve(value: T): void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

async function drain<E>(stream: NexyStream<E>): Promise<{ events: E[]; error?: NexyClientError }> {
  const events: E[] = [];
  try {
    for await (const event of stream) events.push(event);
    return { events };
  } catch (error) {
    assert.ok(error instanceof NexyClientError, `not a NexyClientError: ${String(error)}`);
    return { events, error };
  }
}

describe('NexyClient', () => {
  const script: Script = { interruptFailures: 0, interruptCode: status.UNAVAILABLE, interruptCalls: 0, cancelled: 0 };
  const server = new Server();
  let address = '';

  before(async () => {
    const impl: StreamingServiceServer = {
      streamAudio: (call) => {
        script.lastMetadata = call.metadata;
        call.on('cancelled', () => (script.cancelled += 1));
        script.stream?.(call);
      },
      interruptSession: (call: ServerUnaryCall<InterruptRequest, InterruptResponse>, done) => {
        script.interruptCalls += 1;
        script.lastMetadata = call.metadata;
        if (script.interruptCalls <= script.interruptFailures) return done({ code: script.interruptCode, details: 'not now' });
        done(null, { success: true, interruptedSessions: ['s-1'], message: `stopped ${call.request.hardwareId}` });
      },
      generateWelcomeAudio: (call: ServerWritableStream<WelcomeRequest, WelcomeResponse>) => {
        call.write({ content: { $case: 'metadata', metadata: { method: 'cache', durationSec: 0.5, sampleRate: 48000, channels: 1, dtype: 'int16' } } });
        call.write({ content: { $case: 'audioChunk', audioChunk: { audioData: Buffer.alloc(8, 1), dtype: 'int16', shape: [4], sampleRate: 48000, channels: 1 } } });
        call.write({ content: { $case: 'endMessage', endMessage: call.request.text || 'default' } });
        call.end();
      },
      reportUsage: (call: ServerUnaryCall<UsageRequest, unknown>, done) => done(null, { success: true, message: `${call.request.inputTokens}` }),
    };
    server.addService(StreamingServiceService, impl);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    address = `127.0.0.1:${port}`;
  });
  after(() => server.forceShutdown());
  beforeEach(() => {
    Object.assign(script, { stream: undefined, interruptFailures: 0, interruptCode: status.UNAVAILABLE, interruptCalls: 0, cancelled: 0 });
  });

  const retry = { maxAttempts: 3, initialBackoffMs: 1, maxBackoffMs: 2, backoffMultiplier: 2 };

  test('streamAudio yields typed events in order and exposes x-session-id; metadata and token are sent', async () => {
    script.stream = (call) => {
      const metadata = new Metadata();
      metadata.set('x-session-id', 'sess-42');
      call.sendMetadata(metadata);
      call.write({ content: { $case: 'textChunk', textChunk: 'Hello.' } });
      call.write({ content: { $case: 'audioChunk', audioChunk: { audioData: Buffer.alloc(12, 1), dtype: 'int16', shape: [6], sampleRate: 48000, channels: 1 } } });
      call.write({ content: { $case: 'actionMessage', actionMessage: { actionJson: '{"a":1}', sessionId: 'sess-42' } } });
      call.write({});
      call.write({ content: { $case: 'endMessage', endMessage: 'completed' } });
      call.end();
    };
    const client = new NexyClient({ address, authToken: 'tok', metadata: { 'x-client': 'cli' } });
    try {
      const stream = client.streamAudio(REQUEST, { metadata: { 'x-call': 'yes' } });
      const { events, error } = await drain(stream);
      assert.equal(error, undefined);
      assert.deepEqual(events.map((e) => e.type), ['text', 'audio', 'action', 'end']);
      assert.deepEqual(events[0], { type: 'text', text: 'Hello.' });
      const audio = events[1];
      assert.ok(audio.type === 'audio');
      assert.equal(audio.frames, 6);
      assert.equal(audio.sampleRate, 48000);
      assert.deepEqual(events[3], { type: 'end', message: 'completed' });
      assert.equal(await stream.sessionId, 'sess-42');
      assert.deepEqual(script.lastMetadata?.get('authorization'), ['Bearer tok']);
      assert.deepEqual(script.lastMetadata?.get('x-client'), ['cli']);
      assert.deepEqual(script.lastMetadata?.get('x-call'), ['yes']);
    } finally {
      client.close();
    }
  });

  test('an error_message and a non-OK status: the event, then NexyClientError with the code and that message', async () => {
    script.stream = (call) => {
      call.write({ content: { $case: 'errorMessage', errorMessage: 'hardware_id is required' } });
      call.emit('error', { code: status.INVALID_ARGUMENT, details: 'hardware_id is required' });
    };
    const client = new NexyClient({ address });
    try {
      const { events, error } = await drain(client.streamAudio(REQUEST));
      assert.deepEqual(events, [{ type: 'error', message: 'hardware_id is required' }]);
      assert.equal(error?.code, status.INVALID_ARGUMENT);
      assert.equal(error?.codeName, 'INVALID_ARGUMENT');
      assert.equal(error?.message, 'hardware_id is required');
    } finally {
      client.close();
    }
  });

  /** The server writes one text chunk and holds the call; resolves to the server's side of it. */
  function holdAfterText(text: string): Promise<ServerWritableStream<StreamRequest, StreamResponse>> {
    const started = deferred<ServerWritableStream<StreamRequest, StreamResponse>>();
    script.stream = (call) => {
      call.write({ content: { $case: 'textChunk', textChunk: text } });
      started.resolve(call);
    };
    return started.promise;
  }

  test('aborting the signal cancels the call on the server and the iteration throws CANCELLED', async () => {
    const started = holdAfterText('Thinking...');
    const client = new NexyClient({ address });
    const controller = new AbortController();
    try {
      const stream = client.streamAudio(REQUEST, { signal: controller.signal });
      const iterator = stream[Symbol.asyncIterator]();
      assert.deepEqual((await iterator.next()).value, { type: 'text', text: 'Thinking...' });
      const serverCall = await started;
      const cancelledOnServer = once(serverCall, 'cancelled');
      controller.abort();
      await assert.rejects(iterator.next(), (e: NexyClientError) => e.code === status.CANCELLED);
      await cancelledOnServer;
    } finally {
      client.close();
    }
  });

  test('a consumer that stops early cancels the call on the server', async () => {
    const started = holdAfterText('One.');
    const client = new NexyClient({ address });
    try {
      const serverCall = client.streamAudio(REQUEST);
      const cancelled = started.then((call) => once(call, 'cancelled'));
      for await (const event of serverCall) {
        assert.equal(event.type, 'text');
        break;
      }
      await cancelled;
    } finally {
      client.close();
    }
  });

  test('collect resolves on collect_ok and fails on an error', async () => {
    script.stream = (call) => {
      call.write({ content: { $case: 'endMessage', endMessage: 'collect_ok' } });
      call.end();
    };
    const client = new NexyClient({ address });
    try {
      await client.collect({ ...REQUEST, phase: RequestPhase.REQUEST_PHASE_COLLECT, chunkSeq: 1 }, { deadlineMs: 3000 });
      script.stream = (call) => {
        call.write({ content: { $case: 'errorMessage', errorMessage: 'session_id is required' } });
        call.emit('error', { code: status.INVALID_ARGUMENT, details: 'session_id is required' });
      };
      await assert.rejects(client.collect(REQUEST), (e: NexyClientError) => e.code === status.INVALID_ARGUMENT);
    } finally {
      client.close();
    }
  });

  test('a stream past its deadline fails with DEADLINE_EXCEEDED', async () => {
    script.stream = () => undefined;
    const client = new NexyClient({ address });
    try {
      const { error } = await drain(client.streamAudio(REQUEST, { deadlineMs: 50 }));
      assert.equal(error?.code, status.DEADLINE_EXCEEDED);
    } finally {
      client.close();
    }
  });

  test('welcome yields metadata, audio and end', async () => {
    const client = new NexyClient({ address });
    try {
      const { events } = await drain(client.welcome({ text: 'Hi!' }));
      assert.deepEqual(events.map((e) => e.type), ['metadata', 'audio', 'end']);
      assert.deepEqual(events[2], { type: 'end', message: 'Hi!' });
      const usage = await client.reportUsage({ hardwareId: 'HW-1', sessionId: 's', source: 'cli', inputTokens: 7, outputTokens: 1, model: 'm' });
      assert.equal(usage.message, '7');
    } finally {
      client.close();
    }
  });

  test('unary calls are retried with backoff on UNAVAILABLE, up to the policy', async () => {
    script.interruptFailures = 2;
    const client = new NexyClient({ address, retry });
    try {
      const response = await client.interrupt('HW-1');
      assert.equal(response.success, true);
      assert.equal(script.interruptCalls, 3);
      script.interruptCalls = 0;
      script.interruptFailures = 5;
      await assert.rejects(client.interrupt('HW-1'), (e: NexyClientError) => e.code === status.UNAVAILABLE);
      assert.equal(script.interruptCalls, retry.maxAttempts);
    } finally {
      client.close();
    }
  });

  test('without a retry policy, or for another status, a unary call is tried once', async () => {
    script.interruptFailures = 1;
    const plain = new NexyClient({ address });
    const retrying = new NexyClient({ address, retry });
    try {
      await assert.rejects(plain.interrupt('HW-1'), (e: NexyClientError) => e.code === status.UNAVAILABLE);
      assert.equal(script.interruptCalls, 1);
      Object.assign(script, { interruptCalls: 0, interruptFailures: 1, interruptCode: status.INVALID_ARGUMENT });
      await assert.rejects(retrying.interrupt('HW-1'), (e: NexyClientError) => e.code === status.INVALID_ARGUMENT);
      assert.equal(script.interruptCalls, 1);
    } finally {
      plain.close();
      retrying.close();
    }
  });

  test('an unreachable server is UNAVAILABLE with a one-line message', async () => {
    const probe = new Server();
    const port = await new Promise<number>((resolve, reject) =>
      probe.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    // A port that was just free and is closed again: nothing listens there.
    probe.forceShutdown();
    const client = new NexyClient({ address: `127.0.0.1:${port}` });
    try {
      const { error } = await drain(client.streamAudio(REQUEST));
      assert.equal(error?.code, status.UNAVAILABLE);
      assert.ok(!error?.message.includes('\n'));
    } finally {
      client.close();
    }
  });
});
