import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { AppError, onAbort, toAppError } from '../errors.js';
import type { InterruptHub } from '../sessions/interrupt-hub.js';
import { EMPTY_CONTEXT, type MemoryContext, type MemoryStore, type MemoryUpdater, type TurnRecord, type UsageRecord } from '../memory/store.js';
import { logFailure } from '../observability/log-failure.js';
import type { Metrics } from '../observability/metrics.js';
import type { CollectStore } from '../sessions/collect-store.js';
import type { Lease, SessionRegistry } from '../sessions/session-registry.js';
import type { LlmProvider } from '../llm/provider.js';
import type { TextProcessing } from '../text-processing/text-processing.js';
import { encodeAction } from '../text-processing/actions.js';
import type { Segmenter, Speaker, TurnEvent, Utterance } from './ports.js';
import { prepareTurn } from './prepare-turn.js';
import { runEvery } from './run-every.js';
import { lookaheadLimits, speakSentences } from './speak-sentences.js';
import type { UsageEvent } from './turn-llm.js';
import type { ValidStreamRequest } from '../protocol/validation.js';

/** What a running turn gathers for memory: the prompt as kept, the sentences heard, the model's token counts. */
interface TurnState {
  userText: string;
  readonly heard: string[];
  completed: boolean;
  readonly usage: UsageEvent[];
}

/** Text with something an engine can say: a letter, a digit or a pictograph. */
const SPEAKABLE = /[\p{L}\p{N}\p{Extended_Pictographic}]/u;
const NOTHING_TO_SPEAK = 'text has nothing to speak';

export interface NexyServiceDeps {
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly collectStore: CollectStore;
  readonly registry: SessionRegistry;
  readonly interrupts: InterruptHub;
  readonly memory: MemoryStore;
  /** Learns long-term facts and the summary from each saved turn, in the background. */
  readonly memoryUpdater?: MemoryUpdater;
  readonly llm: LlmProvider;
  /** System prompt template, action gate and input filter, built at start-up. */
  readonly textProcessing: TextProcessing;
  readonly speaker: Speaker;
  readonly newSegmenter: () => Segmenter;
}

export interface WelcomeInput {
  readonly text: string;
  readonly voice: string;
  readonly language: string;
}

export interface WelcomeAudio extends Utterance {
  /** `cache` when the greeting was synthesized before, else the engine's name. */
  readonly method: string;
}

/**
 * The server's behaviour, free of any transport: COLLECT buffering, the COMMIT turn, interrupts,
 * the welcome greeting and usage. The gRPC layer, the CLI's in-process mode and the benchmarks all
 * drive this one object.
 */
export class NexyService {
  readonly #deps: NexyServiceDeps;
  readonly #pendingSaves = new Set<Promise<void>>();
  #activeTurns = 0;
  #turnsStarted = 0;
  #draining = false;
  #abortReason: AppError | undefined;
  #idleWaiters: Array<() => void> = [];

  constructor(deps: NexyServiceDeps) {
    this.#deps = deps;
  }

  /** Turns running now in this process. */
  get activeTurns(): number {
    return this.#activeTurns;
  }

  /** Turns admitted since the process started (each counts once, however it ended). */
  get turnsStarted(): number {
    return this.#turnsStarted;
  }

  /** True once shutdown began: new COMMITs are refused (UNAVAILABLE). */
  get draining(): boolean {
    return this.#draining;
  }

  /** Shutdown, first step: refuse new COMMITs; running turns go on. */
  beginDrain(): void {
    this.#draining = true;
  }

  /** Resolves when no turn runs in this process. */
  whenIdle(): Promise<void> {
    if (this.#activeTurns === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Shutdown after the grace: aborts every running turn, and any still starting, with `reason`. */
  abortRunning(reason: AppError): void {
    this.#abortReason = reason;
    this.#deps.interrupts.abortAll(reason);
  }

  #turnEnded(): void {
    this.#activeTurns--;
    if (this.#activeTurns === 0) for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  /** COLLECT: buffer the piece and screenshot; no model or speech work starts. */
  async collect(request: ValidStreamRequest): Promise<'accepted' | 'stale'> {
    const { collectStore, metrics } = this.#deps;
    const result = await collectStore.append(
      { hardwareId: request.hardwareId, sessionId: request.sessionId },
      {
        seq: request.chunkSeq,
        text: request.piece,
        screenshot: request.screenshot && {
          base64: request.screenshot.base64,
          width: request.screenWidth ?? request.screenshot.info.width,
          height: request.screenHeight ?? request.screenshot.info.height,
        },
      },
    );
    metrics.collectBuffers.set(collectStore.buffered);
    return result;
  }

  /**
   * COMMIT: one turn. Single-flight per session; one AbortController whose signal reaches every
   * step. `signal` is the transport's (client cancel, deadline); InterruptSession, the total
   * timeout and shutdown abort the turn's own controller. What the user heard is saved in
   * `finally`, marked interrupted unless the turn completed.
   */
  async *commit(request: ValidStreamRequest, signal: AbortSignal, log: Logger): AsyncGenerator<TurnEvent> {
    const { config, interrupts, metrics } = this.#deps;
    const lease = await this.#admit(request);
    const startedAt = new Date();
    const controller = new AbortController();
    const unlink = onAbort(signal, (reason) => controller.abort(reason));
    const unregister = interrupts.register(request.hardwareId, request.sessionId, controller);
    // Shutdown aborted the running turns while this one was still acquiring its session.
    if (this.#abortReason) controller.abort(this.#abortReason);
    const timeout = setTimeout(
      () => controller.abort(new AppError('timeout', 'the answer took too long')),
      config.text_processing.total_timeout_ms,
    );
    const turn: TurnState = { userText: '', heard: [], completed: false, usage: [] };

    try {
      // The user's context does not depend on the prompt: it is fetched while the buffer is taken
      // (two round trips at once with Redis and PostgreSQL), and dropped if the prompt is blocked.
      const context = this.#context(request.hardwareId, controller.signal, log);
      context.catch(() => undefined);
      const prepared = await prepareTurn(this.#deps, request, {
        log,
        context,
        onUserText: (text) => (turn.userText = text),
        onUsage: (usage) => turn.usage.push(usage),
      });
      const events = speakSentences({
        llm: prepared.llm,
        speaker: this.#deps.speaker,
        segmenter: this.#deps.newSegmenter(),
        request: prepared.request,
        signal: controller.signal,
        metrics,
        limits: lookaheadLimits(config.pipeline),
        actionJson: (call) => encodeAction(call.name, call.args, request.sessionId),
        onHeard: (sentence) => turn.heard.push(sentence),
      });
      let firstAudio = true;
      for await (const event of events) {
        if (event.type === 'audio' && firstAudio) {
          firstAudio = false;
          metrics.firstAudio.observe((Date.now() - startedAt.getTime()) / 1000);
        }
        yield event;
      }
      turn.completed = true;
      yield { type: 'end' };
    } catch (error) {
      throw toAppError(error, controller.signal);
    } finally {
      clearTimeout(timeout);
      unlink();
      await this.#endTurn(request, { lease, unregister, turn, startedAt }, log);
    }
  }

  /**
   * A COMMIT's admission: refused while the server drains (UNAVAILABLE) or runs
   * `grpc.max_active_turns` turns (RESOURCE_EXHAUSTED); then the session's single-flight lease
   * (ABORTED while another turn holds it). Once let in, the turn counts as running until
   * {@link #endTurn}.
   */
  async #admit(request: ValidStreamRequest): Promise<Lease> {
    const { config, registry, metrics } = this.#deps;
    if (this.#draining) throw new AppError('unavailable', 'the server is shutting down, try again shortly');
    if (this.#activeTurns >= config.grpc.max_active_turns) {
      throw new AppError('limit', 'the server is busy, try again shortly');
    }
    // Counted before the await so that concurrent COMMITs cannot all pass the limit.
    this.#activeTurns++;
    this.#turnsStarted++;
    const acquired = await registry.acquire(request.sessionId, { hardwareId: request.hardwareId }).catch((error: unknown) => {
      this.#turnEnded();
      throw error;
    });
    if (!acquired.ok) {
      this.#turnEnded();
      throw new AppError('conflict', `a turn is already running for session ${request.sessionId}`);
    }
    metrics.activeStreams.inc();
    return acquired.lease;
  }

  /**
   * A turn's clean-up. Every step runs whatever the others do: a release rejecting (Redis down)
   * must neither leak the active-turn slot nor lose the turn and its usage.
   */
  async #endTurn(
    request: ValidStreamRequest,
    ending: { lease: Lease; unregister: () => void; turn: TurnState; startedAt: Date },
    log: Logger,
  ): Promise<void> {
    const { registry, metrics } = this.#deps;
    const { turn, startedAt } = ending;
    await runEvery(
      [
        ['unregister interrupt', ending.unregister],
        [
          'count the turn',
          () => {
            this.#turnEnded();
            metrics.activeStreams.dec();
            metrics.turnSeconds.observe((Date.now() - startedAt.getTime()) / 1000);
          },
        ],
        ['save turn', () => turn.userText !== '' && this.#saveTurn(request, turn, startedAt, log)],
        ['save usage', () => turn.usage.length > 0 && this.#saveUsage(request, turn.usage, log)],
        ['release session', () => registry.release(ending.lease)],
      ],
      (step, error) => logFailure(log, error, 'turn clean-up step failed', { step }),
    );
  }

  /** InterruptSession: stops every turn of the hardware id and drops its COLLECT buffers. */
  async interrupt(hardwareId: string): Promise<string[]> {
    const stopped = await this.#deps.interrupts.interrupt(hardwareId);
    await this.#deps.collectStore.dropHardware(hardwareId);
    this.#deps.metrics.interrupts.inc(stopped.length);
    this.#deps.metrics.collectBuffers.set(this.#deps.collectStore.buffered);
    return stopped;
  }

  /** The greeting (or any text): whole utterance, from the cache when it was spoken before. */
  async welcome(input: WelcomeInput, signal: AbortSignal): Promise<WelcomeAudio> {
    const text = input.text.trim() !== '' ? input.text : this.#deps.config.audio_generation.welcome.default_text;
    // Punctuation, control characters, U+FFFD (invalid UTF-8): the client's text is at fault, not
    // the engine. Refused rather than replaced by the default greeting, which the client did not ask for.
    if (!SPEAKABLE.test(text)) throw new AppError('bad_input', NOTHING_TO_SPEAK);
    const voice = { voice: input.voice || undefined, language: input.language || undefined };
    const utterance = await this.#deps.speaker.speakCached(text, voice, signal);
    // What the engine itself read as silence (a pictograph it has no word for).
    if (utterance.pieces.length === 0) throw new AppError('bad_input', NOTHING_TO_SPEAK);
    return { ...utterance, method: utterance.fromCache ? 'cache' : utterance.engine };
  }

  async reportUsage(usage: UsageRecord): Promise<void> {
    await this.#deps.memory.saveUsage(usage);
  }

  /** Waits for background memory writes (shutdown). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.#pendingSaves]);
    await this.#deps.memoryUpdater?.drain();
  }

  /** The user's context within its time budget: a slow or failing store never holds a turn up. */
  async #context(hardwareId: string, signal: AbortSignal, log: Logger): Promise<MemoryContext> {
    const { config, memory, metrics } = this.#deps;
    const budget = { maxTurns: config.memory_management.context_max_turns, maxChars: config.memory_management.context_max_chars };
    const controller = new AbortController();
    const unlink = onAbort(signal, (reason) => controller.abort(reason));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), config.memory_management.context_timeout_ms);
    });
    try {
      const result = await Promise.race([memory.context(hardwareId, budget, controller.signal), timedOut]);
      if (result !== 'timeout') return result;
      log.warn({ budget_ms: config.memory_management.context_timeout_ms }, 'memory context timed out; turn goes on without it');
    } catch (error) {
      if (signal.aborted) throw toAppError(error, signal);
      logFailure(log, error, 'memory context failed; turn goes on without it');
    } finally {
      clearTimeout(timer);
      unlink();
      controller.abort();
    }
    metrics.memoryContextSkipped.inc();
    return EMPTY_CONTEXT;
  }

  /** The providers' own token counts, one record per report, beside what clients send with ReportUsage. */
  #saveUsage(request: ValidStreamRequest, usage: readonly UsageEvent[], log: Logger): void {
    for (const report of usage) {
      const save = this.#deps.memory
        .saveUsage({
          hardwareId: request.hardwareId,
          sessionId: request.sessionId,
          source: 'server',
          model: report.model,
          inputTokens: report.inputTokens,
          outputTokens: report.outputTokens,
          at: new Date(),
        })
        .catch((error: unknown) => logFailure(log, error, 'saving token usage to memory failed'))
        .finally(() => this.#pendingSaves.delete(save));
      this.#pendingSaves.add(save);
    }
  }

  /** Saves off the latency path; the pending set lets shutdown wait for it. */
  #saveTurn(
    request: ValidStreamRequest,
    turn: TurnState,
    startedAt: Date,
    log: Logger,
  ): void {
    const record: TurnRecord = {
      hardwareId: request.hardwareId,
      sessionId: request.sessionId,
      userText: turn.userText,
      assistantText: turn.heard.join(' '),
      interrupted: !turn.completed,
      startedAt,
      endedAt: new Date(),
      provider: this.#deps.llm.name,
      inputTokens: turn.usage.reduce((sum, u) => sum + u.inputTokens, 0),
      outputTokens: turn.usage.reduce((sum, u) => sum + u.outputTokens, 0),
    };
    const save = this.#deps.memory
      .saveTurn(record)
      .then(() => this.#deps.memoryUpdater?.turnSaved(record))
      .catch((error: unknown) => logFailure(log, error, 'saving the turn to memory failed'))
      .finally(() => this.#pendingSaves.delete(save));
    this.#pendingSaves.add(save);
  }
}
