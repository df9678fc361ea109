/**
 * The benchmark's gRPC client, run in a worker thread: a client sharing the server's event loop
 * would see each message only after whatever the server does next (synthesizing the next
 * sentence, say), and would charge that to the latency. Here it reads on its own thread, like a
 * real client on another machine. Times are absolute (`timeOrigin + now`), comparable across
 * threads.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { credentials, type ClientReadableStream } from '@grpc/grpc-js';
import { RequestPhase, StreamingServiceClient, type StreamResponse, type WelcomeResponse } from '../src/gen/streaming.js';

/** What the main thread asks for. */
export type BenchJob =
  | { readonly kind: 'turn'; readonly prompt: string; readonly sessionId: string; readonly hardwareId: string }
  | { readonly kind: 'welcome' }
  | { readonly kind: 'close' };

/** When the request went out, when its first audio chunk arrived, when the call ended. */
export interface BenchTiming {
  readonly sentAt: number;
  readonly firstAudioAt: number;
  readonly endedAt: number;
  readonly ok: boolean;
}

export const now = (): number => performance.timeOrigin + performance.now();

function time<T extends StreamResponse | WelcomeResponse>(start: () => ClientReadableStream<T>): Promise<BenchTiming> {
  return new Promise((resolve) => {
    const sentAt = now();
    const call = start();
    let firstAudioAt = Number.NaN;
    call.on('data', (message: T) => {
      if (Number.isNaN(firstAudioAt) && message.content?.$case === 'audioChunk') firstAudioAt = now();
    });
    call.on('status', (status: { code: number }) => resolve({ sentAt, firstAudioAt, endedAt: now(), ok: status.code === 0 }));
    call.on('error', () => undefined);
  });
}

if (parentPort !== null) {
  const port = parentPort;
  const client = new StreamingServiceClient(String(workerData), credentials.createInsecure(), { 'grpc.max_receive_message_length': -1 });
  port.on('message', (job: BenchJob) => {
    if (job.kind === 'close') {
      client.close();
      port.close();
      return;
    }
    const timing =
      job.kind === 'turn'
        ? time(() =>
            client.streamAudio({
              prompt: job.prompt,
              hardwareId: job.hardwareId,
              sessionId: job.sessionId,
              phase: RequestPhase.REQUEST_PHASE_COMMIT,
              chunkSeq: 0,
            }),
          )
        : time(() => client.generateWelcomeAudio({ text: '', sessionId: '', voice: '', language: '' }));
    void timing.then((t) => port.postMessage(t));
  });
}
