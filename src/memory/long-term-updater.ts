import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { AppError, onAbort } from '../errors.js';
import type { ChatMessage, LlmProvider, LlmRequest } from '../llm/provider.js';
import { extractFacts } from './fact-rules.js';
import type { MemoryBackend, MemoryUpdater, TurnRecord } from './store.js';
import { parseUpdaterAnswer, updaterPrompt, type UpdaterAnswer } from './updater-prompt.js';

/** `memory_management.updater` of the config. */
export type UpdaterSettings = Config['memory_management']['updater'];

export interface LongTermUpdaterOptions {
  readonly store: MemoryBackend;
  /** The model that updates facts and summary; undefined when there is none (rules only). */
  readonly llm?: LlmProvider;
  readonly logger: Logger;
  readonly settings: UpdaterSettings;
}

/** The `source` of the usage records of the updater's model calls. */
export const USAGE_SOURCE = 'memory-updater';

/** How one update learnt what it stored, for logs and tests. */
export type UpdateMethod = 'llm' | 'rules' | 'none';

/**
 * The long-term memory: after a turn is saved, the facts and rolling summary of its hardware id
 * are updated in the background. With a model (mode `auto` or `llm`) it is asked for a JSON
 * answer; without one, or when that fails (mode `auto`), the rule set of fact-rules.ts picks
 * facts from what the user said. The store masks secrets in whatever is written.
 *
 * Bounded: at most one update per hardware id at a time (turns arriving meanwhile join the next
 * one), `max_concurrent` updates at once, `queue_max` ids waiting. Failures are logged and never
 * reach the turn.
 */
export class LongTermUpdater implements MemoryUpdater {
  readonly #store: MemoryBackend;
  readonly #llm: LlmProvider | undefined;
  readonly #logger: Logger;
  readonly #settings: UpdaterSettings;
  /** Ids waiting, with their new turns; insertion order is the queue order. */
  readonly #waiting = new Map<string, TurnRecord[]>();
  readonly #running = new Map<string, AbortController>();
  #idle: Array<() => void> = [];
  #stopped = false;

  constructor(options: LongTermUpdaterOptions) {
    this.#store = options.store;
    this.#llm = options.llm;
    this.#logger = options.logger;
    this.#settings = options.settings;
    if (options.settings.mode === 'llm' && options.llm === undefined) {
      this.#logger.warn('memory updater mode is llm but no language model is configured: no facts will be learnt');
    }
  }

  /** What this updater will use: `llm`, `rules`, or `llm+rules` (the model, rules as fallback). */
  get method(): string {
    const { mode } = this.#settings;
    if (mode === 'rules' || this.#llm === undefined) return mode === 'llm' ? 'none' : 'rules';
    return mode === 'llm' ? 'llm' : 'llm+rules';
  }

  /** Updates waiting or running now. */
  get pending(): number {
    return this.#waiting.size + this.#running.size;
  }

  turnSaved(turn: TurnRecord): void {
    if (this.#stopped || turn.userText.trim() === '') return;
    const waiting = this.#waiting.get(turn.hardwareId);
    if (waiting) {
      waiting.push(turn);
      // The store has them all; the update only needs the newest to learn from.
      if (waiting.length > this.#settings.max_turns) waiting.shift();
      return;
    }
    if (this.#waiting.size >= this.#settings.queue_max) {
      this.#logger.warn({ queue_max: this.#settings.queue_max }, 'memory update queue full; turn not learnt from');
      return;
    }
    this.#waiting.set(turn.hardwareId, [turn]);
    this.#pump();
  }

  /** Drops what is waiting for the id and aborts its running update (before a `forget`). */
  cancel(hardwareId: string): void {
    this.#waiting.delete(hardwareId);
    this.#running.get(hardwareId)?.abort(new AppError('interrupted', 'memory update cancelled'));
    this.#notifyIfIdle();
  }

  /** Shutdown: nothing new starts, waiting updates are dropped, running ones aborted. */
  stop(): void {
    this.#stopped = true;
    this.#waiting.clear();
    for (const controller of this.#running.values()) controller.abort(new AppError('interrupted', 'the server is shutting down'));
    this.#notifyIfIdle();
  }

  drain(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #pump(): void {
    for (const [hardwareId, turns] of this.#waiting) {
      if (this.#stopped || this.#running.size >= this.#settings.max_concurrent) return;
      if (this.#running.has(hardwareId)) continue;
      this.#waiting.delete(hardwareId);
      const controller = new AbortController();
      this.#running.set(hardwareId, controller);
      void this.#run(hardwareId, turns, controller.signal).finally(() => {
        this.#running.delete(hardwareId);
        this.#pump();
        this.#notifyIfIdle();
      });
    }
  }

  #notifyIfIdle(): void {
    if (this.pending !== 0) return;
    for (const resolve of this.#idle.splice(0)) resolve();
  }

  async #run(hardwareId: string, turns: readonly TurnRecord[], signal: AbortSignal): Promise<void> {
    const started = performance.now();
    try {
      const { method, facts, summary } = await this.#update(hardwareId, turns, signal);
      this.#logger.debug({ method, facts, summary, ms: Math.round(performance.now() - started) }, 'memory updated');
    } catch (error) {
      if (!signal.aborted) this.#logger.warn({ err: error }, 'memory update failed');
    }
  }

  /** One update; resolves to what was stored (counts only: the text is the user's). */
  async #update(
    hardwareId: string,
    turns: readonly TurnRecord[],
    signal: AbortSignal,
  ): Promise<{ method: UpdateMethod; facts: number; summary: boolean }> {
    const { mode } = this.#settings;
    if (mode !== 'rules' && this.#llm !== undefined) {
      const answer = await this.#ask(this.#llm, hardwareId, turns, signal).catch((error: unknown) => {
        if (signal.aborted) throw error;
        this.#logger.warn({ err: error, llm: this.#llm?.name }, 'memory model update failed');
        return undefined;
      });
      if (signal.aborted) return { method: 'none', facts: 0, summary: false };
      if (answer !== undefined) {
        await this.#store.addFacts(hardwareId, answer.facts);
        if (answer.summary !== undefined && !signal.aborted) await this.#store.setSummary(hardwareId, answer.summary);
        return { method: 'llm', facts: answer.facts.length, summary: answer.summary !== undefined };
      }
    }
    if (mode === 'llm') return { method: 'none', facts: 0, summary: false };
    const facts = turns.flatMap((t) => extractFacts(t.userText));
    if (facts.length > 0 && !signal.aborted) await this.#store.addFacts(hardwareId, facts);
    return { method: 'rules', facts: facts.length, summary: false };
  }

  /**
   * Asks the model; undefined when its answer has no valid JSON object. Bounded by `timeout_ms`
   * on top of the update's own signal (stop, cancel).
   */
  async #ask(llm: LlmProvider, hardwareId: string, turns: readonly TurnRecord[], signal: AbortSignal): Promise<UpdaterAnswer | undefined> {
    const s = this.#settings;
    const context = await this.#store.context(hardwareId, { maxTurns: s.max_turns, maxChars: s.max_input_chars }, signal);
    const request: LlmRequest = {
      system: s.system_prompt,
      history: [],
      prompt: updaterPrompt({
        facts: context.facts,
        summary: context.summary,
        turns: context.messages.length > 0 ? context.messages : newestTurnsCut(turns, s.max_input_chars),
      }),
      maxOutputTokens: s.max_output_tokens,
      temperature: s.temperature,
    };
    const call = new AbortController();
    const unlink = onAbort(signal, (reason) => call.abort(reason));
    const timer = setTimeout(() => call.abort(new AppError('timeout', 'the memory model took too long')), s.timeout_ms);
    try {
      let text = '';
      for await (const event of llm.stream(request, call.signal)) {
        if (event.type === 'text') text += event.text;
        // What memory costs is counted beside the turns' own usage.
        if (event.type === 'usage') {
          const { inputTokens, outputTokens, model } = event;
          const usage = { hardwareId, sessionId: turns[turns.length - 1].sessionId, source: USAGE_SOURCE, inputTokens, outputTokens, model, at: new Date() };
          await this.#store.saveUsage(usage).catch((error: unknown) => this.#logger.warn({ err: error }, 'saving memory model usage failed'));
        }
      }
      const answer = parseUpdaterAnswer(text, s.max_new_facts);
      if (answer === undefined) this.#logger.warn({ llm: llm.name, chars: text.length }, 'memory model answer is not the expected JSON');
      return answer;
    } catch (error) {
      // The timer's reason says "timeout" where the provider may only have seen an abort.
      throw call.signal.aborted && !signal.aborted ? call.signal.reason : error;
    } finally {
      clearTimeout(timer);
      unlink();
    }
  }
}

/**
 * When the newest stored turn alone is over the budget the store returns no messages; the
 * model still gets the turns to learn from, each side cut to its share of the budget.
 */
function newestTurnsCut(turns: readonly TurnRecord[], maxChars: number): ChatMessage[] {
  const last = turns[turns.length - 1];
  const share = Math.floor(maxChars / 2);
  return [
    { role: 'user', content: last.userText.slice(0, share) },
    { role: 'assistant', content: last.assistantText.slice(0, share) },
  ];
}
