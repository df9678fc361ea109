import { randomUUID } from 'node:crypto';
import { Metadata, type ServerUnaryCall, type ServerWritableStream, type sendUnaryData } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { AnswerTicket, CallGuard } from '../admission/call-guard.js';
import type { Config } from '../config/schema.js';
import { AppError } from '../errors.js';
import {
  type InterruptRequest,
  type InterruptResponse,
  type StreamRequest,
  type StreamResponse,
  type StreamingServiceServer,
  type UsageRequest,
  type UsageResponse,
  type WelcomeRequest,
  type WelcomeResponse,
} from '../gen/streaming.js';
import type { Metrics } from '../observability/metrics.js';
import type { NexyService } from '../pipeline/nexy-service.js';
import type { AudioPiece, TurnEvent } from '../pipeline/ports.js';
import { hardwareIdProblem, sessionIdProblem, validateStreamRequest } from '../protocol/validation.js';
import { AUDIO_DTYPE, COLLECT_OK, COMPLETED, SESSION_ID_METADATA_KEY } from '../protocol/wire.js';
import { BadInputLog } from './bad-input-log.js';
import { RefusalLog } from './refusal-log.js';
import { admit, serveStream, serveUnary, type RpcContext } from './rpc-call.js';

export interface StreamingServiceDeps {
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly service: NexyService;
  /** Rate limits, device tokens, answer slots and quotas (src/admission); none: every call is let in. */
  readonly guard?: CallGuard;
}

function audioChunk(piece: AudioPiece) {
  return {
    audioData: piece.data,
    dtype: AUDIO_DTYPE,
    shape: piece.channels === 1 ? [piece.frames] : [piece.frames, piece.channels],
    sampleRate: piece.sampleRate,
    channels: piece.channels,
  };
}

function turnMessage(event: TurnEvent, sessionId: string): { message: StreamResponse; bytes: number } {
  switch (event.type) {
    case 'action':
      return {
        message: { content: { $case: 'actionMessage', actionMessage: { actionJson: event.actionJson, sessionId } } },
        bytes: event.actionJson.length,
      };
    case 'text':
      return { message: { content: { $case: 'textChunk', textChunk: event.text } }, bytes: event.text.length };
    case 'audio':
      return { message: { content: { $case: 'audioChunk', audioChunk: audioChunk(event.piece) } }, bytes: event.piece.data.length };
    case 'end':
      return { message: { content: { $case: 'endMessage', endMessage: COMPLETED } }, bytes: COMPLETED.length };
  }
}

/** The session id a reply carries: the given one when valid, a new UUIDv4 when absent. */
function effectiveSessionId(given: string): string | undefined {
  if (given === '') return randomUUID();
  return sessionIdProblem(given) === undefined ? given : undefined;
}

/** A hardware id for log fields: only a valid one (an invalid one may be megabytes of anything). */
function loggableId(id: string): string | undefined {
  return hardwareIdProblem(id) === undefined ? id : undefined;
}

const streamError = (text: string): StreamResponse => ({ content: { $case: 'errorMessage', errorMessage: text } });
const welcomeError = (text: string): WelcomeResponse => ({ content: { $case: 'errorMessage', errorMessage: text } });

/** StreamAudio: a COLLECT piece (answered `collect_ok`) or a COMMIT (the turn's text, audio and actions). */
function streamAudio(ctx: RpcContext, call: ServerWritableStream<StreamRequest, StreamResponse>): Promise<void> {
  return serveStream(ctx, 'StreamAudio', call, streamError, async (request, scope) => {
    const { service, metrics } = ctx;
    const sessionId = effectiveSessionId(request.sessionId);
    scope.identify({ session_id: sessionId, hardware_id: loggableId(request.hardwareId) });
    if (sessionId !== undefined) {
      const metadata = new Metadata();
      metadata.set(SESSION_ID_METADATA_KEY, sessionId);
      call.sendMetadata(metadata);
    }
    const { controller, writer, log } = scope;
    const validation = validateStreamRequest(
      {
        prompt: request.prompt,
        screenshot: request.screenshot,
        screenWidth: request.screenWidth,
        screenHeight: request.screenHeight,
        hardwareId: request.hardwareId,
        sessionId: request.sessionId,
        phase: request.phase,
        chunkSeq: request.chunkSeq,
        chunkText: request.chunkText,
      },
      sessionId ?? '',
      ctx.limits,
    );
    if (!validation.ok) throw new AppError('bad_input', `invalid request: ${validation.problems.join('; ')}`);
    const valid = validation.value;
    await admit(ctx, call, { call: valid.phase, hardwareId: valid.hardwareId });

    if (valid.phase === 'collect') {
      const result = await service.collect(valid);
      log.debug({ seq: valid.chunkSeq, result }, 'collect');
      await writer.write({ content: { $case: 'endMessage', endMessage: COLLECT_OK } }, COLLECT_OK.length, controller.signal);
      return;
    }

    log.info({ prompt_chars: valid.prompt.length, screenshot: Boolean(valid.screenshot) }, 'commit');
    let answer: AnswerTicket | undefined;
    try {
      answer = await ctx.guard?.beginAnswer(valid.hardwareId, controller, log);
      for await (const event of service.commit(valid, controller.signal, log)) {
        const { message, bytes } = turnMessage(event, valid.sessionId);
        await writer.write(message, bytes, controller.signal);
        if (event.type !== 'end') scope.dataSent = true;
      }
      log.info('turn completed');
    } finally {
      answer?.end(scope.dataSent);
      metrics.streamQueuedPeakBytes.observe(writer.peakQueuedBytes);
    }
  });
}

/** GenerateWelcomeAudio: the greeting (or any text) as metadata, audio chunks and `completed`. */
function generateWelcomeAudio(ctx: RpcContext, call: ServerWritableStream<WelcomeRequest, WelcomeResponse>): Promise<void> {
  return serveStream(ctx, 'GenerateWelcomeAudio', call, welcomeError, async (request, scope) => {
    scope.identify({ session_id: sessionIdProblem(request.sessionId) === undefined ? request.sessionId : undefined });
    const { controller, writer } = scope;
    await admit(ctx, call, { call: 'welcome' });
    if (request.text.length > ctx.limits.maxPromptChars) {
      throw new AppError('bad_input', `text is longer than ${ctx.limits.maxPromptChars} characters`);
    }
    const audio = await ctx.service.welcome({ text: request.text, voice: request.voice, language: request.language }, controller.signal);
    const first = audio.pieces[0];
    await writer.write(
      {
        content: {
          $case: 'metadata',
          metadata: { method: audio.method, durationSec: audio.durationSec, sampleRate: first.sampleRate, channels: first.channels, dtype: AUDIO_DTYPE },
        },
      },
      0,
      controller.signal,
    );
    scope.dataSent = true;
    for (const piece of audio.pieces) {
      await writer.write({ content: { $case: 'audioChunk', audioChunk: audioChunk(piece) } }, piece.data.length, controller.signal);
    }
    await writer.write({ content: { $case: 'endMessage', endMessage: COMPLETED } }, COMPLETED.length, controller.signal);
    scope.log.info({ method: audio.method, duration_sec: audio.durationSec }, 'welcome sent');
  });
}

/** InterruptSession: stops every turn of the hardware id. */
function interruptSession(ctx: RpcContext, call: ServerUnaryCall<InterruptRequest, InterruptResponse>, callback: sendUnaryData<InterruptResponse>): Promise<void> {
  return serveUnary(ctx, 'InterruptSession', call, callback, async ({ hardwareId }, scope) => {
    scope.identify({ hardware_id: loggableId(hardwareId) });
    const problem = hardwareIdProblem(hardwareId);
    if (problem) throw new AppError('bad_input', `invalid request: ${problem}`);
    await admit(ctx, call, { call: 'interrupt', hardwareId });
    const stopped = await ctx.service.interrupt(hardwareId);
    scope.log.info({ interrupted: stopped }, 'interrupt');
    return {
      success: true,
      interruptedSessions: stopped,
      message: stopped.length > 0 ? `interrupted ${stopped.length} session(s)` : 'no active session',
    };
  });
}

/** ReportUsage: the client's own token counts, recorded beside the server's. */
function reportUsage(ctx: RpcContext, call: ServerUnaryCall<UsageRequest, UsageResponse>, callback: sendUnaryData<UsageResponse>): Promise<void> {
  return serveUnary(ctx, 'ReportUsage', call, callback, async (request, scope) => {
    scope.identify({ hardware_id: loggableId(request.hardwareId) });
    const problems = [
      hardwareIdProblem(request.hardwareId),
      request.sessionId !== '' ? sessionIdProblem(request.sessionId) : undefined,
      request.inputTokens < 0 ? 'input_tokens must not be negative' : undefined,
      request.outputTokens < 0 ? 'output_tokens must not be negative' : undefined,
      request.source.length > 128 ? 'source is longer than 128 characters' : undefined,
      request.model.length > 128 ? 'model is longer than 128 characters' : undefined,
    ].filter((p): p is string => p !== undefined);
    if (problems.length > 0) throw new AppError('bad_input', `invalid request: ${problems.join('; ')}`);
    await admit(ctx, call, { call: 'usage', hardwareId: request.hardwareId });
    await ctx.service.reportUsage({
      hardwareId: request.hardwareId,
      sessionId: request.sessionId,
      source: request.source,
      inputTokens: request.inputTokens,
      outputTokens: request.outputTokens,
      model: request.model,
      at: new Date(),
    });
    return { success: true, message: 'recorded' };
  });
}

/**
 * The gRPC transport of StreamingService: decode, validate, translate pipeline events to
 * messages and AppError kinds to statuses. No behaviour lives here that the pipeline could own.
 * Every handler ends through the one tail in `rpc-call.ts`.
 */
export function createStreamingService(deps: StreamingServiceDeps): StreamingServiceServer {
  const { config, logger } = deps;
  const ctx: RpcContext = {
    logger,
    metrics: deps.metrics,
    service: deps.service,
    guard: deps.guard,
    limits: {
      maxPromptChars: config.text_processing.max_prompt_chars,
      screenshotMaxBytes: config.text_processing.screenshot_max_bytes,
      maxScreenDimension: config.text_processing.max_screen_dimension,
    },
    highWaterBytes: config.grpc.stream_high_water_bytes,
    badInput: new BadInputLog(logger, { maxPerInterval: config.logging.bad_input_max_per_interval, intervalMs: config.logging.bad_input_interval_ms }),
    refusals: new RefusalLog(logger, { maxPerInterval: config.logging.refusal_max_per_interval, intervalMs: config.logging.refusal_interval_ms }),
  };
  return {
    streamAudio: (call) => void streamAudio(ctx, call),
    generateWelcomeAudio: (call) => void generateWelcomeAudio(ctx, call),
    interruptSession: (call, callback) => void interruptSession(ctx, call, callback),
    reportUsage: (call, callback) => void reportUsage(ctx, call, callback),
  };
}
