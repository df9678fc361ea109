import type { ChatMessage } from '../llm/provider.js';

/** What one finished turn leaves behind. `assistantText` holds only what the user heard. */
export interface TurnRecord {
  readonly hardwareId: string;
  readonly sessionId: string;
  readonly userText: string;
  readonly assistantText: string;
  /** True after an interrupt, a client cancel or a quiet stop. */
  readonly interrupted: boolean;
  readonly startedAt: Date;
  readonly endedAt: Date;
  readonly provider: string;
  readonly inputTokens?: number;
  readonly outputTokens?: number;
}

export interface UsageRecord {
  readonly hardwareId: string;
  readonly sessionId: string;
  readonly source: string;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly model: string;
  readonly at: Date;
}

export interface ContextBudget {
  readonly maxTurns: number;
  readonly maxChars: number;
}

/** The user's remembered context, ready to go into an LLM request. */
export interface MemoryContext {
  /** Earlier turns as chat messages, oldest first. */
  readonly messages: readonly ChatMessage[];
  /** Rolling summary of older conversation, '' when none. */
  readonly summary: string;
  /** Long-term facts about the user. */
  readonly facts: readonly string[];
}

export const EMPTY_CONTEXT: MemoryContext = Object.freeze({ messages: [], summary: '', facts: [] });

/**
 * Conversation memory per hardware id. Every method is async so that a database backend fits the
 * same shape as the embedded one; the pipeline bounds `context` with a time budget.
 */
export interface MemoryStore {
  readonly name: string;
  context(hardwareId: string, budget: ContextBudget, signal?: AbortSignal): Promise<MemoryContext>;
  saveTurn(turn: TurnRecord): Promise<void>;
  saveUsage(usage: UsageRecord): Promise<void>;
  forget(hardwareId: string): Promise<void>;
  /** Readiness: undefined when the store answers, else what is wrong. */
  ping?(): Promise<string | undefined>;
  close(): Promise<void>;
}

/** What one `prune` removed. */
export interface PruneResult {
  readonly turns: number;
  readonly usage: number;
}

/**
 * A MemoryStore plus what the background jobs need: the long-term-memory updater writes facts
 * and the summary, the composition root runs `prune` on a timer. The turn itself only needs
 * `MemoryStore`, so that interface stays as small as it is.
 */
export interface MemoryBackend extends MemoryStore {
  /** Adds facts (masked, normalised, deduplicated); keeps at most the configured number, newest. */
  addFacts(hardwareId: string, facts: readonly string[]): Promise<void>;
  /** Replaces the rolling summary (masked, cut to the configured length); '' removes it. */
  setSummary(hardwareId: string, summary: string): Promise<void>;
  /** Deletes turns and usage records older than their configured retention, as of `now`. */
  prune(now: Date): Promise<PruneResult>;
}

/**
 * Learns from turns after they are saved (the long-term-memory updater). The pipeline calls
 * `turnSaved` once a turn is stored; the work happens in the background, off the latency path.
 */
export interface MemoryUpdater {
  /** Queues what the turn may teach; returns at once and never throws. */
  turnSaved(turn: TurnRecord): void;
  /** Resolves when every update queued so far has finished (tests, shutdown). */
  drain(): Promise<void>;
}
