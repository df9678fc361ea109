import { randomUUID } from 'node:crypto';
import { Metadata, status, type sendUnaryData, type ServerUnaryCall, type ServerWritableStream } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { AnswerTicket, CallGuard, CallIdentity } from '../admission/call-guard.js';
import type { Config } from '../config/schema.js';
import { AppError, toAppError } from '../errors.js';
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
import { causeText } from '../observability/log-failure.js';
import type { Metrics } from '../observability/metrics.js';
import type { NexyService } from '../pipeline/nexy-service.js';
import type { AudioPiece, TurnEvent } from '../pipeline/ports.js';
import { hardwareIdProblem, sessionIdProblem, validateStreamRequest, type ValidationLimits } from '../pipeline/validation.js';
import { BadInputLog } from './bad-input-log.js';
import { FlowWriter } from './flow-writer.js';
import { clientMessage, statusForKind } from './status-map.js';
import { undecodable } from './tolerant-decode.js';
import { sendQueuedTogether } from './write-batching.js';

export const COLLECT_OK = 'collect_ok';
export const COMPLETED = 'completed';
const DTYPE = 'int16';

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
    dtype: DTYPE,
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

/**
 * The gRPC transport of StreamingService: decode, validate, translate pipeline events to
 * messages and AppError kinds to statuses. No behaviour lives here that the pipeline could own.
 */
export function createStreamingService(deps: StreamingServiceDeps): StreamingServiceServer {
  const { config, logger, metrics, service } = deps;
  const limits: ValidationLimits = {
    maxPromptChars: config.text_processing.max_prompt_chars,
    screenshotMaxBytes: config.text_processing.screenshot_max_bytes,
    maxScreenDimension: config.text_processing.max_screen_dimension,
  };
  const highWater = config.grpc.stream_high_water_bytes;
  const badInput = new BadInputLog(logger, {
    maxPerInterval: config.logging.bad_input_max_per_interval,
    intervalMs: config.logging.bad_input_interval_ms,
  });

  /**
   * One line per failed call. Bad input: the short, rate-limited line of {@link BadInputLog}.
   * A stack only for internal errors (a bug); other kinds say what happened and why, in a line.
   */
  function logFailure(log: Logger, rpc: string, rid: string, error: AppError, message: string): void {
    if (error.kind === 'bad_input') {
      badInput.log({ rid, rpc, reason: error.message });
      return;
    }
    if (error.kind === 'internal') {
      log.error({ err: error, kind: error.kind }, message);
      return;
    }
    const level = error.kind === 'conflict' ? 'info' : 'warn';
    log[level]({ kind: error.kind, reason: error.message, cause: causeText(error) }, message);
  }

  /** The guard's admission of a call: its peer and `authorization` metadata, read here. */
  async function admit(call: ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown>, identity: Omit<CallIdentity, 'peer' | 'authorization'>): Promise<void> {
    if (deps.guard === undefined) return;
    const authorization = call.metadata.get('authorization')[0];
    await deps.guard.admit({ ...identity, peer: call.getPeer(), authorization: typeof authorization === 'string' ? authorization : undefined });
  }

  /** Ends a stream that failed: one error_message if nothing was sent yet, else a quiet stop. */
  function failStream<T>(
    call: ServerWritableStream<unknown, T>,
    rpc: string,
    error: AppError,
    dataSent: boolean,
    errorMessage: (text: string) => T,
    log: Logger,
    rid: string,
  ): void {
    metrics.errors.inc({ kind: error.kind });
    if (error.kind === 'interrupted') {
      // InterruptSession or a client cancel: nothing more is said, the status says why.
      log.info({ reason: error.message }, 'stream cancelled');
      metrics.requests.inc({ rpc, status: status[status.CANCELLED] });
      if (!call.cancelled) call.emit('error', { code: status.CANCELLED, details: error.message });
      return;
    }
    if (call.cancelled) return;
    if (dataSent) {
      logFailure(log, rpc, rid, error, 'stream stopped quietly after data was sent');
      metrics.requests.inc({ rpc, status: status[status.OK] });
      call.end();
      return;
    }
    logFailure(log, rpc, rid, error, 'request failed');
    const code = statusForKind(error.kind);
    metrics.requests.inc({ rpc, status: status[code] });
    const text = clientMessage(error);
    call.write(errorMessage(text));
    call.emit('error', { code, details: text });
  }

  const streamError = (text: string): StreamResponse => ({ content: { $case: 'errorMessage', errorMessage: text } });
  const welcomeError = (text: string): WelcomeResponse => ({ content: { $case: 'errorMessage', errorMessage: text } });

  /** One AbortController per call: a client cancel or deadline aborts whatever the call runs. */
  function callSignal(call: ServerWritableStream<unknown, unknown>): AbortController {
    const controller = new AbortController();
    call.on('cancelled', () => controller.abort(new AppError('interrupted', 'cancelled by the client')));
    return controller;
  }

  /** Bytes that do not parse: INVALID_ARGUMENT, on streams after the one error_message. */
  function undecodableError(rpc: string, reason: string): AppError {
    return new AppError('bad_input', `invalid request: request bytes do not parse as ${rpc}'s message (${reason})`);
  }

  async function streamAudio(call: ServerWritableStream<StreamRequest, StreamResponse>): Promise<void> {
    const rid = randomUUID();
    const bad = undecodable(call.request);
    if (bad) {
      failStream(call, 'StreamAudio', undecodableError('StreamAudio', bad.reason), false, streamError, logger, rid);
      return;
    }
    const request = call.request;
    const sessionId = effectiveSessionId(request.sessionId);
    const log = logger.child({ rpc: 'StreamAudio', rid, session_id: sessionId, hardware_id: loggableId(request.hardwareId) });
    if (sessionId !== undefined) {
      const metadata = new Metadata();
      metadata.set('x-session-id', sessionId);
      call.sendMetadata(metadata);
    }
    const controller = callSignal(call);
    sendQueuedTogether(call);
    const writer = new FlowWriter(call, { highWaterBytes: highWater, queued: metrics.streamQueuedBytes });
    let dataSent = false;
    let turn = false;
    let answer: AnswerTicket | undefined;
    try {
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
        limits,
      );
      if (!validation.ok) throw new AppError('bad_input', `invalid request: ${validation.problems.join('; ')}`);
      const valid = validation.value;
      await admit(call, { call: valid.phase, hardwareId: valid.hardwareId });

      if (valid.phase === 'collect') {
        const result = await service.collect(valid);
        log.debug({ seq: valid.chunkSeq, result }, 'collect');
        await writer.write({ content: { $case: 'endMessage', endMessage: COLLECT_OK } }, COLLECT_OK.length, controller.signal);
        metrics.requests.inc({ rpc: 'StreamAudio', status: status[status.OK] });
        call.end();
        return;
      }

      log.info({ prompt_chars: valid.prompt.length, screenshot: Boolean(valid.screenshot) }, 'commit');
      turn = true;
      answer = await deps.guard?.beginAnswer(valid.hardwareId, controller, log);
      for await (const event of service.commit(valid, controller.signal, log)) {
        const { message, bytes } = turnMessage(event, valid.sessionId);
        await writer.write(message, bytes, controller.signal);
        if (event.type !== 'end') dataSent = true;
      }
      metrics.requests.inc({ rpc: 'StreamAudio', status: status[status.OK] });
      log.info('turn completed');
      call.end();
    } catch (error) {
      failStream(call, 'StreamAudio', toAppError(error, controller.signal), dataSent, streamError, log, rid);
    } finally {
      writer.close();
      answer?.end(dataSent);
      if (turn) metrics.streamQueuedPeakBytes.observe(writer.peakQueuedBytes);
    }
  }

  async function generateWelcomeAudio(call: ServerWritableStream<WelcomeRequest, WelcomeResponse>): Promise<void> {
    const rid = randomUUID();
    const bad = undecodable(call.request);
    if (bad) {
      failStream(call, 'GenerateWelcomeAudio', undecodableError('GenerateWelcomeAudio', bad.reason), false, welcomeError, logger, rid);
      return;
    }
    const request = call.request;
    const log = logger.child({
      rpc: 'GenerateWelcomeAudio',
      rid,
      session_id: sessionIdProblem(request.sessionId) === undefined ? request.sessionId : undefined,
    });
    const controller = callSignal(call);
    sendQueuedTogether(call);
    const writer = new FlowWriter(call, { highWaterBytes: highWater, queued: metrics.streamQueuedBytes });
    let dataSent = false;
    try {
      await admit(call, { call: 'welcome' });
      if (request.text.length > limits.maxPromptChars) {
        throw new AppError('bad_input', `text is longer than ${limits.maxPromptChars} characters`);
      }
      const audio = await service.welcome({ text: request.text, voice: request.voice, language: request.language }, controller.signal);
      const first = audio.pieces[0];
      await writer.write(
        {
          content: {
            $case: 'metadata',
            metadata: { method: audio.method, durationSec: audio.durationSec, sampleRate: first.sampleRate, channels: first.channels, dtype: DTYPE },
          },
        },
        0,
        controller.signal,
      );
      dataSent = true;
      for (const piece of audio.pieces) {
        await writer.write({ content: { $case: 'audioChunk', audioChunk: audioChunk(piece) } }, piece.data.length, controller.signal);
      }
      await writer.write({ content: { $case: 'endMessage', endMessage: COMPLETED } }, COMPLETED.length, controller.signal);
      metrics.requests.inc({ rpc: 'GenerateWelcomeAudio', status: status[status.OK] });
      log.info({ method: audio.method, duration_sec: audio.durationSec }, 'welcome sent');
      call.end();
    } catch (error) {
      failStream(call, 'GenerateWelcomeAudio', toAppError(error, controller.signal), dataSent, welcomeError, log, rid);
    } finally {
      writer.close();
    }
  }

  function unaryFail<T>(rpc: string, callback: sendUnaryData<T>, error: AppError, log: Logger, rid: string): void {
    const code = statusForKind(error.kind);
    metrics.requests.inc({ rpc, status: status[code] });
    metrics.errors.inc({ kind: error.kind });
    logFailure(log, rpc, rid, error, 'request failed');
    callback({ code, details: clientMessage(error) });
  }

  async function interruptSession(
    call: ServerUnaryCall<InterruptRequest, InterruptResponse>,
    callback: sendUnaryData<InterruptResponse>,
  ): Promise<void> {
    const rid = randomUUID();
    const bad = undecodable(call.request);
    if (bad) return unaryFail('InterruptSession', callback, undecodableError('InterruptSession', bad.reason), logger, rid);
    const hardwareId = call.request.hardwareId;
    const log = logger.child({ rpc: 'InterruptSession', rid, hardware_id: loggableId(hardwareId) });
    try {
      const problem = hardwareIdProblem(hardwareId);
      if (problem) throw new AppError('bad_input', `invalid request: ${problem}`);
      await admit(call, { call: 'interrupt', hardwareId });
      const stopped = await service.interrupt(hardwareId);
      log.info({ interrupted: stopped }, 'interrupt');
      metrics.requests.inc({ rpc: 'InterruptSession', status: status[status.OK] });
      callback(null, {
        success: true,
        interruptedSessions: stopped,
        message: stopped.length > 0 ? `interrupted ${stopped.length} session(s)` : 'no active session',
      });
    } catch (error) {
      unaryFail('InterruptSession', callback, toAppError(error), log, rid);
    }
  }

  async function reportUsage(call: ServerUnaryCall<UsageRequest, UsageResponse>, callback: sendUnaryData<UsageResponse>): Promise<void> {
    const rid = randomUUID();
    const bad = undecodable(call.request);
    if (bad) return unaryFail('ReportUsage', callback, undecodableError('ReportUsage', bad.reason), logger, rid);
    const request = call.request;
    const log = logger.child({ rpc: 'ReportUsage', rid, hardware_id: loggableId(request.hardwareId) });
    try {
      const problems = [
        hardwareIdProblem(request.hardwareId),
        request.sessionId !== '' ? sessionIdProblem(request.sessionId) : undefined,
        request.inputTokens < 0 ? 'input_tokens must not be negative' : undefined,
        request.outputTokens < 0 ? 'output_tokens must not be negative' : undefined,
        request.source.length > 128 ? 'source is longer than 128 characters' : undefined,
        request.model.length > 128 ? 'model is longer than 128 characters' : undefined,
      ].filter((p): p is string => p !== undefined);
      if (problems.length > 0) throw new AppError('bad_input', `invalid request: ${problems.join('; ')}`);
      await admit(call, { call: 'usage', hardwareId: request.hardwareId });
      await service.reportUsage({
        hardwareId: request.hardwareId,
        sessionId: request.sessionId,
        source: request.source,
        inputTokens: request.inputTokens,
        outputTokens: request.outputTokens,
        model: request.model,
        at: new Date(),
      });
      metrics.requests.inc({ rpc: 'ReportUsage', status: status[status.OK] });
      callback(null, { success: true, message: 'recorded' });
    } catch (error) {
      unaryFail('ReportUsage', callback, toAppError(error), log, rid);
    }
  }

  return {
    streamAudio: (call) => void streamAudio(call),
    generateWelcomeAudio: (call) => void generateWelcomeAudio(call),
    interruptSession: (call, callback) => void interruptSession(call, callback),
    reportUsage: (call, callback) => void reportUsage(call, callback),
  };
}
