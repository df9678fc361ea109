/**
 * The in-process language models tests use where the model itself is not under test (the
 * network edge has its own fakes in test/fakes/). One scripted model covers them all: a script
 * is the list of steps of each answer — events, a failure, a wait — chosen per request.
 *
 * ```ts
 * const llm = new ScriptedLlm('story', (request) => request.prompt === 'hi' ? words('Hello there.') : [text('One. Two'), hang()]);
 * const failing = new ScriptedLlm('a', [text('Half')]).failWith('unavailable', 1);
 * ```
 */
import { AppError, type ErrorKind } from '../../src/errors.js';
import type { LlmEvent, LlmProvider, LlmRequest } from '../../src/llm/provider.js';

/** One step of a scripted answer. */
export type LlmStep =
  | LlmEvent
  /** Throw `error` here. */
  | { readonly type: 'fail'; readonly error: unknown }
  /**
   * Wait until `until` settles (never, without it), then go on with the steps it resolves to;
   * an abort ends the wait with the signal's reason (and is recorded in `aborted`).
   */
  | { readonly type: 'wait'; readonly until?: Promise<readonly LlmStep[] | void> };

/** The steps of every answer, or the steps for request `request` (the `call`-th, 0-based). */
export type LlmScript = readonly LlmStep[] | ((request: LlmRequest, call: number) => readonly LlmStep[]);

export const text = (t: string): LlmEvent => ({ type: 'text', text: t });

/** `reply` word by word, each word with the white space after it, as streamed models send text. */
export const words = (reply: string): LlmEvent[] => reply.split(/(?<=\s)/u).map(text);

/** `reply` in pieces of `size` characters. */
export function pieces(reply: string, size: number): LlmEvent[] {
  const out: LlmEvent[] = [];
  for (let i = 0; i < reply.length; i += size) out.push(text(reply.slice(i, i + size)));
  return out;
}

export const fail = (error: unknown): LlmStep => ({ type: 'fail', error });

/** Waits for `until` (then goes on with its steps), or for the abort. */
export const waitFor = (until: Promise<readonly LlmStep[] | void>): LlmStep => ({ type: 'wait', until });

/** Waits until the turn is aborted. */
export const hang = (): LlmStep => ({ type: 'wait' });

/**
 * A language model that answers from a script and records its requests and the aborts it saw.
 * `failWith` makes every following answer fail after a number of its events, until `heal()`.
 */
export class ScriptedLlm implements LlmProvider {
  readonly requests: LlmRequest[] = [];
  /** The abort reasons seen, in order. */
  readonly aborted: unknown[] = [];
  #script: LlmScript;
  #fail: { error: unknown; after: number } | undefined;
  #started: Array<() => void> = [];
  #drained: Array<() => void> = [];

  constructor(
    readonly name: string,
    script: LlmScript = [],
  ) {
    this.#script = script;
  }

  /** How many answers were asked for. */
  get calls(): number {
    return this.requests.length;
  }

  /**
   * Every following answer fails after `after` of its events: with `error`, or, given an error
   * kind, with an AppError `<name> <kind>` of that kind.
   */
  failWith(error: ErrorKind | Error, after = 0, retryable?: boolean): this {
    this.#fail = { error: typeof error === 'string' ? new AppError(error, `${this.name} ${error}`, { retryable }) : error, after };
    return this;
  }

  /** Answers normally again. */
  heal(): this {
    this.#fail = undefined;
    return this;
  }

  /** Resolves when the next request arrives. */
  started(): Promise<void> {
    return new Promise((resolve) => this.#started.push(resolve));
  }

  /** Resolves once the next answer has gone through all its steps (before a final failure). */
  drained(): Promise<void> {
    return new Promise((resolve) => this.#drained.push(resolve));
  }

  protected steps(request: LlmRequest, call: number): readonly LlmStep[] {
    return typeof this.#script === 'function' ? this.#script(request, call) : this.#script;
  }

  async *stream(request: LlmRequest, signal: AbortSignal): AsyncGenerator<LlmEvent> {
    const call = this.requests.length;
    this.requests.push(request);
    for (const resolve of this.#started.splice(0)) resolve();
    const failure = this.#fail;
    const steps = [...this.steps(request, call)];
    let events = 0;
    while (steps.length > 0) {
      const step = steps.shift()!;
      if (failure && events === failure.after) throw failure.error;
      this.#throwIfAborted(signal);
      if (step.type === 'fail') throw step.error;
      if (step.type === 'wait') {
        steps.unshift(...((await this.#wait(step.until, signal)) ?? []));
        continue;
      }
      yield step;
      events += 1;
    }
    for (const resolve of this.#drained.splice(0)) resolve();
    if (failure && events <= failure.after) throw failure.error;
  }

  #throwIfAborted(signal: AbortSignal): void {
    if (!signal.aborted) return;
    this.aborted.push(signal.reason);
    throw signal.reason;
  }

  #wait(until: Promise<readonly LlmStep[] | void> | undefined, signal: AbortSignal): Promise<readonly LlmStep[] | void> {
    return new Promise((resolve, reject) => {
      signal.addEventListener(
        'abort',
        () => {
          this.aborted.push(signal.reason);
          reject(signal.reason);
        },
        { once: true },
      );
      until?.then(resolve, reject);
    });
  }
}

/**
 * A language model for end-to-end tests that records every request and answers `reply` word by
 * word. `hold()` lets a test keep the next answers waiting after their first sentence until
 * `release()`, to interrupt or race a running turn.
 */
export class RecordingLlm extends ScriptedLlm {
  #reply: (request: LlmRequest) => string;
  #gate: Promise<void> | undefined;
  #open: (() => void) | undefined;

  constructor(reply: string | ((request: LlmRequest) => string) = 'Hello there. This is a test answer.') {
    super('recording');
    this.#reply = typeof reply === 'string' ? () => reply : reply;
  }

  /** The next turns wait after their first sentence until `release()`. */
  hold(): void {
    this.#gate = new Promise((resolve) => (this.#open = resolve));
  }

  release(): void {
    this.#open?.();
    this.#gate = undefined;
  }

  protected override steps(request: LlmRequest): readonly LlmStep[] {
    const steps: LlmStep[] = words(this.#reply(request));
    const gate = this.#gate;
    if (gate) {
      const firstSentence = steps.findIndex((s) => s.type === 'text' && /[.!?]\s*$/u.test(s.text));
      if (firstSentence !== -1) steps.splice(firstSentence + 1, 0, waitFor(gate));
    }
    return steps;
  }
}
