/**
 * The load benchmark's client, run as its own process (`child_process.fork`): N devices, each on
 * its own connection with its own hardware id, send a StreamAudio COMMIT within `spreadMs` and
 * read the reply as a player would (see `playback`). It shares no event loop and no thread with
 * the server, like devices on other machines; it does share the machine's cores, as a load test
 * run beside the server does. Talks to its parent only by IPC messages.
 */
import { credentials, type ClientReadableStream, type StatusObject } from '@grpc/grpc-js';
import { RequestPhase, StreamingServiceClient, type StreamResponse } from '../../src/gen/streaming.js';
import { now } from '../sentence-end-clock.js';
import { playback, type ArrivedChunk } from './playback.js';

/** What the parent asks for. */
export type LoadJob =
  | {
      readonly kind: 'run';
      readonly address: string;
      /** Devices, each sending one COMMIT. */
      readonly level: number;
      /** Prefix of prompts and ids, unique per level. */
      readonly runId: string;
      /** COMMITs are spread evenly over this window. */
      readonly spreadMs: number;
      /** Playback starts this long after a stream's first audio chunk. */
      readonly bufferMs: number;
      /** Streams still open this long after the first COMMIT are cancelled (counted as failed). */
      readonly timeoutMs: number;
    }
  | { readonly kind: 'close' };

/** One device's stream, as measured by the client. Times are absolute milliseconds (`now()`). */
export interface StreamReport {
  readonly prompt: string;
  readonly sentAt: number;
  readonly firstTextAt: number;
  readonly firstAudioAt: number;
  /** gRPC status code; -1 when the stream was cancelled by the level's timeout. */
  readonly code: number;
  readonly lateChunks: number;
  readonly worstLatenessMs: number;
  readonly stallMs: number;
  readonly audioMs: number;
  readonly chunks: number;
}

/** What the client answers a `run` with. */
export type LoadResult = { readonly kind: 'result'; readonly streams: StreamReport[] } | { readonly kind: 'error'; readonly message: string };

/** The prompt device `index` of a run sends: unique, so that the server's notes can be matched to streams. */
export const loadPrompt = (runId: string, index: number): string => `${runId} device ${index}: tell me about Paris`;

function chunkMs(message: StreamResponse): number | undefined {
  if (message.content?.$case !== 'audioChunk') return undefined;
  const chunk = message.content.audioChunk;
  const channels = chunk.channels > 0 ? chunk.channels : 1;
  const frames = chunk.shape[0] ?? chunk.audioData.length / 2 / channels;
  return (frames / chunk.sampleRate) * 1000;
}

function waitForReady(client: StreamingServiceClient, deadline: number): Promise<void> {
  return new Promise((resolve, reject) => client.waitForReady(deadline, (error) => (error ? reject(error) : resolve())));
}

async function run(job: Extract<LoadJob, { kind: 'run' }>): Promise<StreamReport[]> {
  // One connection per device: a local subchannel pool stops grpc-js from sharing one.
  const clients = Array.from(
    { length: job.level },
    () =>
      new StreamingServiceClient(job.address, credentials.createInsecure(), {
        'grpc.max_receive_message_length': -1,
        'grpc.use_local_subchannel_pool': 1,
      }),
  );
  try {
    await Promise.all(clients.map((client) => waitForReady(client, Date.now() + 30_000)));
    const calls = new Set<ClientReadableStream<StreamResponse>>();
    let expired = false;
    const timeout = setTimeout(() => {
      expired = true;
      for (const call of calls) call.cancel();
    }, job.timeoutMs);
    const streams = clients.map(
      (client, index) =>
        new Promise<StreamReport>((resolve) => {
          setTimeout(
            () => {
              const prompt = loadPrompt(job.runId, index);
              const chunks: ArrivedChunk[] = [];
              let firstTextAt = Number.NaN;
              const sentAt = now();
              const call = client.streamAudio({
                prompt,
                hardwareId: `${job.runId}-hw-${index}`,
                sessionId: `${job.runId}-s-${index}`,
                phase: RequestPhase.REQUEST_PHASE_COMMIT,
                chunkSeq: 0,
              });
              calls.add(call);
              call.on('data', (message: StreamResponse) => {
                const at = now();
                if (message.content?.$case === 'textChunk' && Number.isNaN(firstTextAt)) firstTextAt = at;
                const durationMs = chunkMs(message);
                if (durationMs !== undefined) chunks.push({ atMs: at, durationMs });
              });
              call.on('error', () => undefined);
              call.on('status', (status: StatusObject) => {
                calls.delete(call);
                const played = playback(chunks, job.bufferMs);
                resolve({
                  prompt,
                  sentAt,
                  firstTextAt,
                  firstAudioAt: chunks[0]?.atMs ?? Number.NaN,
                  code: expired && status.code === 1 ? -1 : status.code,
                  lateChunks: played.lateChunks,
                  worstLatenessMs: played.worstLatenessMs,
                  stallMs: played.stallMs,
                  audioMs: played.audioMs,
                  chunks: chunks.length,
                });
              });
            },
            (index * job.spreadMs) / job.level,
          );
        }),
    );
    const reports = await Promise.all(streams);
    clearTimeout(timeout);
    return reports;
  } finally {
    for (const client of clients) client.close();
  }
}

process.on('message', (job: LoadJob) => {
  if (job.kind === 'close') {
    process.disconnect();
    return;
  }
  run(job).then(
    (streams) => process.send?.({ kind: 'result', streams } satisfies LoadResult),
    (error: unknown) => process.send?.({ kind: 'error', message: error instanceof Error ? error.message : String(error) } satisfies LoadResult),
  );
});
