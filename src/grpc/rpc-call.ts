import { randomUUID } from 'node:crypto';
import { status, type sendUnaryData, type ServerUnaryCall, type ServerWritableStream } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { CallGuard, CallIdentity } from '../admission/call-guard.js';
import { AppError, toAppError } from '../errors.js';
import { causeText } from '../observability/log-failure.js';
import type { Metrics } from '../observability/metrics.js';
import type { NexyService } from '../pipeline/nexy-service.js';
import type { ValidationLimits } from '../protocol/validation.js';
import type { BadInputLog } from './bad-input-log.js';
import { FlowWriter } from './flow-writer.js';
import { isRefusal, type RefusalLog } from './refusal-log.js';
import { clientMessage, statusForKind } from './status-map.js';
import { undecodable } from './tolerant-decode.js';
import { sendQueuedTogether } from './write-batching.js';

/** What every RPC handler shares: the server's parts, and what it reads from config once. */
export interface RpcContext {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly service: NexyService;
  /** Rate limits, device tokens, answer slots and quotas (src/admission); none: every call is let in. */
  readonly guard?: CallGuard;
  readonly limits: ValidationLimits;
  /** `grpc.stream_high_water_bytes`. */
  readonly highWaterBytes: number;
  readonly badInput: BadInputLog;
  readonly refusals: RefusalLog;
}

/** One call: its request id and logger. */
export class RpcScope {
  readonly rpc: string;
  readonly rid = randomUUID();
  #log: Logger;
  readonly #root: Logger;

  constructor(logger: Logger, rpc: string) {
    this.rpc = rpc;
    this.#root = logger;
    this.#log = logger;
  }

  get log(): Logger {
    return this.#log;
  }

  /** From here on every line of the call carries rpc, rid and `fields` (only ids that are valid). */
  identify(fields: Record<string, unknown>): void {
    this.#log = this.#root.child({ rpc: this.rpc, rid: this.rid, ...fields });
  }
}

/** A server stream's call: its scope, one AbortController (client cancel, deadline) and a flow-controlled writer. */
export class StreamScope<Res> extends RpcScope {
  readonly controller = new AbortController();
  readonly writer: FlowWriter<Res>;
  /** Set once something the client reads went out: a failure after it stops the stream quietly. */
  dataSent = false;

  constructor(ctx: RpcContext, rpc: string, call: ServerWritableStream<unknown, Res>) {
    super(ctx.logger, rpc);
    sendQueuedTogether(call);
    this.writer = new FlowWriter(call, { highWaterBytes: ctx.highWaterBytes, queued: ctx.metrics.streamQueuedBytes });
  }
}

/** How a call's ending goes out on its transport (a server stream or a unary callback). */
interface CallEnd {
  /** The client is gone (a stream it cancelled): nothing can be sent. */
  readonly gone: boolean;
  /** Something the client reads went out already: a failure now stops the call quietly. */
  readonly dataSent: boolean;
  ok(): void;
  /** Ends with `code`; `text` is what the client may read. */
  fail(code: status, text: string): void;
}

/** Request bytes that do not parse: INVALID_ARGUMENT (on streams after the one error_message). */
function undecodableError(rpc: string, reason: string): AppError {
  return new AppError('bad_input', `invalid request: request bytes do not parse as ${rpc}'s message (${reason})`);
}

/**
 * One line per failed call. Bad input and refusals (a limit, a device token): the short,
 * rate-limited lines of {@link BadInputLog} and {@link RefusalLog}. A stack only for internal
 * errors (a bug); other kinds say what happened and why, in a line.
 */
function logFailure(ctx: RpcContext, scope: RpcScope, error: AppError, dataSent: boolean): void {
  const { rid, rpc, log } = scope;
  if (error.kind === 'bad_input') return ctx.badInput.log({ rid, rpc, reason: error.message });
  if (!dataSent && isRefusal(error.kind)) return ctx.refusals.log({ rid, rpc, kind: error.kind, reason: error.message });
  const message = dataSent ? 'stream stopped quietly after data was sent' : 'request failed';
  if (error.kind === 'internal') return log.error({ err: error, kind: error.kind }, message);
  const level = error.kind === 'conflict' ? 'info' : 'warn';
  log[level]({ kind: error.kind, reason: error.message, cause: causeText(error) }, message);
}

/**
 * The tail of every call, success or failure: the status counted, a failure logged once, the
 * ending sent. An interrupted call (InterruptSession, a client cancel) says nothing more: the
 * status says why; a stream that already sent data stops quietly (status OK); any other failure
 * gets its kind's status and the client-safe message.
 */
function endCall(ctx: RpcContext, scope: RpcScope, end: CallEnd, error?: AppError): void {
  const { metrics } = ctx;
  const count = (code: status) => metrics.requests.inc({ rpc: scope.rpc, status: status[code] });
  if (error === undefined) {
    count(status.OK);
    end.ok();
    return;
  }
  metrics.errors.inc({ kind: error.kind });
  if (error.kind === 'interrupted') {
    scope.log.info({ reason: error.message }, 'call cancelled');
    count(status.CANCELLED);
    if (!end.gone) end.fail(status.CANCELLED, error.message);
    return;
  }
  if (end.gone) return;
  logFailure(ctx, scope, error, end.dataSent);
  if (end.dataSent) {
    count(status.OK);
    end.ok();
    return;
  }
  const code = statusForKind(error.kind);
  count(code);
  end.fail(code, clientMessage(error));
}

/** The guard's admission of a call: its peer and `authorization` metadata, read here. */
export async function admit(
  ctx: RpcContext,
  call: ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown>,
  identity: Omit<CallIdentity, 'peer' | 'authorization'>,
): Promise<void> {
  if (ctx.guard === undefined) return;
  const authorization = call.metadata.get('authorization')[0];
  await ctx.guard.admit({ ...identity, peer: call.getPeer(), authorization: typeof authorization === 'string' ? authorization : undefined });
}

/**
 * Serves a server-streaming call: `run` writes through the scope's writer and returns when done;
 * whatever it throws ends the call (one error_message if nothing was sent yet, else a quiet stop).
 */
export async function serveStream<Req, Res>(
  ctx: RpcContext,
  rpc: string,
  call: ServerWritableStream<Req, Res>,
  errorMessage: (text: string) => Res,
  run: (request: Req, scope: StreamScope<Res>) => Promise<void>,
): Promise<void> {
  const scope = new StreamScope(ctx, rpc, call);
  const end: CallEnd = {
    get gone() {
      return call.cancelled;
    },
    get dataSent() {
      return scope.dataSent;
    },
    ok: () => call.end(),
    fail: (code, text) => {
      // A cancelled call is told nothing more; any other failure gets its one error_message.
      if (code !== status.CANCELLED) call.write(errorMessage(text));
      call.emit('error', { code, details: text });
    },
  };
  try {
    const bad = undecodable(call.request);
    if (bad) throw undecodableError(rpc, bad.reason);
    call.on('cancelled', () => scope.controller.abort(new AppError('interrupted', 'cancelled by the client')));
    await run(call.request, scope);
    endCall(ctx, scope, end);
  } catch (error) {
    endCall(ctx, scope, end, toAppError(error, scope.controller.signal));
  } finally {
    scope.writer.close();
  }
}

/** Serves a unary call: `run` returns the response; whatever it throws ends the call with its kind's status. */
export async function serveUnary<Req, Res>(
  ctx: RpcContext,
  rpc: string,
  call: ServerUnaryCall<Req, Res>,
  callback: sendUnaryData<Res>,
  run: (request: Req, scope: RpcScope) => Promise<Res>,
): Promise<void> {
  const scope = new RpcScope(ctx.logger, rpc);
  let response: Res | undefined;
  const end: CallEnd = {
    gone: false,
    dataSent: false,
    ok: () => callback(null, response),
    fail: (code, text) => callback({ code, details: text }),
  };
  try {
    const bad = undecodable(call.request);
    if (bad) throw undecodableError(rpc, bad.reason);
    response = await run(call.request, scope);
  } catch (error) {
    return endCall(ctx, scope, end, toAppError(error));
  }
  endCall(ctx, scope, end);
}
