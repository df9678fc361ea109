import { createHash } from 'node:crypto';
import { RequestPhase, type StreamRequest } from '../gen/streaming.js';
import { mergeSpeech } from '../protocol/collect-merge.js';

/**
 * The client half of COLLECT/COMMIT (docs/PROTOCOL.md, docs/COMPATIBILITY.md): one gate per
 * session, i.e. per key press. Interim speech goes to the server early as COLLECT, the final
 * result starts the answer with exactly one COMMIT.
 *
 * Ordering matters more than speed: the server drops a COLLECT whose `chunk_seq` is not greater
 * than the last one it saw, and COMMIT takes the buffer away. So the gate keeps at most one
 * COLLECT in flight, merges whatever arrives meanwhile (the same word-wise rule the server
 * uses, so deltas and growing snapshots both come out right), and sends COMMIT only after the
 * last COLLECT has settled.
 */

/** Timing of the gate; the values come from the `client:` section of the config. */
export interface GateTiming {
  /** An interim waits this long for a newer one before it is sent (the burst is merged). */
  readonly debounceMs: number;
  /** ... but never longer than this after the first unsent interim, so steady speech still flows. */
  readonly maxWaitMs: number;
  /** Deadline of one COLLECT call. */
  readonly collectDeadlineMs: number;
}

/** What the gate needs from the wire; NexyClient provides it (see `gateTransport`). */
export interface GateTransport<C> {
  /** One COLLECT: resolves on `collect_ok`, rejects on an error or when `signal` aborts. */
  collect(request: StreamRequest, options: { signal: AbortSignal; deadlineMs: number }): Promise<void>;
  /** Starts the COMMIT stream; `signal` aborts it. What it returns is handed out by `dispatched`. */
  commit(request: StreamRequest, signal: AbortSignal): C;
  /** InterruptSession for the hardware id. */
  interrupt(hardwareId: string): Promise<unknown>;
}

/** The timer functions the gate uses; tests pass none and mock the globals with `mock.timers`. */
export interface GateTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** A screenshot as the client captures it: base64 WebP and the screen's size in points. */
export interface GateScreenshot {
  readonly base64: string;
  readonly width?: number;
  readonly height?: number;
}

export interface GateOptions<C> {
  readonly hardwareId: string;
  readonly sessionId: string;
  readonly transport: GateTransport<C>;
  readonly timing: GateTiming;
  readonly timers?: GateTimers;
  /** A COLLECT that failed (its text is not lost: it goes out again later or with the COMMIT). */
  readonly onCollectError?: (error: unknown) => void;
}

/** Read-only view of the gate's flags, for logs and tests. */
export interface GateState {
  readonly readyToSend: boolean;
  readonly released: boolean;
  readonly dispatched: boolean;
  readonly cancelled: boolean;
  /** The `chunk_seq` of the last COLLECT sent (0: none yet). */
  readonly chunkSeq: number;
  readonly collectInFlight: boolean;
}

const liveTimers: GateTimers = {
  // Looked up on every call so that `mock.timers` installed after construction still applies.
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as NodeJS.Timeout),
};

interface Sent {
  readonly text: string;
  readonly screenshot: GateScreenshot | undefined;
}

/** The gate of one session. Methods are fire-and-forget events, as the recogniser emits them. */
export class CollectCommitGate<C> {
  readonly #options: GateOptions<C>;
  readonly #timers: GateTimers;
  readonly #abort = new AbortController();

  #seq = 0;
  /** Interim text not yet sent, already merged. */
  #pendingText = '';
  #pendingShot: GateScreenshot | undefined;
  /** The debounce or max-wait timer fired while a COLLECT was in flight. */
  #due = false;
  #debounceTimer: unknown;
  #maxWaitTimer: unknown;
  #inFlight: Promise<void> | undefined;
  readonly #shotHashes = new Set<string>();
  /** The last screenshot and whether the server acknowledged it (else COMMIT carries it). */
  #shot: GateScreenshot | undefined;
  #shotAcked = false;

  #finalText = '';
  #readyToSend = false;
  #released = false;
  #dispatched = false;
  #cancelled = false;
  /** Set while COMMIT waits for the last COLLECTs: failed text then rides on the COMMIT instead. */
  #draining = false;
  #carried = '';
  #cancelDone: Promise<void> | undefined;

  readonly #dispatchResult: Promise<C | undefined>;
  #settleDispatch!: (value: C | undefined) => void;
  #failDispatch!: (error: unknown) => void;

  constructor(options: GateOptions<C>) {
    this.#options = options;
    this.#timers = options.timers ?? liveTimers;
    this.#dispatchResult = new Promise<C | undefined>((resolve, reject) => {
      this.#settleDispatch = resolve;
      this.#failDispatch = reject;
    });
    // Nobody may be listening yet; a rejection must still not go unhandled.
    this.#dispatchResult.catch(() => undefined);
  }

  /** Resolves with what `transport.commit` returned, or undefined when the session was cancelled first. */
  get dispatched(): Promise<C | undefined> {
    return this.#dispatchResult;
  }

  get state(): GateState {
    return {
      readyToSend: this.#readyToSend,
      released: this.#released,
      dispatched: this.#dispatched,
      cancelled: this.#cancelled,
      chunkSeq: this.#seq,
      collectInFlight: this.#inFlight !== undefined,
    };
  }

  /** An interim recognition result: merged into the unsent text, sent after the debounce. */
  interim(text: string): void {
    if (this.#closed() || text.trim() === '') return;
    this.#pendingText = mergeSpeech(this.#pendingText, text);
    this.#timers.clearTimeout(this.#debounceTimer);
    this.#debounceTimer = this.#timers.setTimeout(() => this.#timerFired(), this.#options.timing.debounceMs);
    this.#maxWaitTimer ??= this.#timers.setTimeout(() => this.#timerFired(), this.#options.timing.maxWaitMs);
  }

  /** The early screenshot: sent at once (right after a COLLECT in flight), once per content. */
  screenshot(shot: GateScreenshot): void {
    if (this.#closed()) return;
    // The hash of the base64 text, as the deployed client does: cheap and exact.
    const hash = createHash('sha256').update(shot.base64).digest('hex');
    if (this.#shotHashes.has(hash)) return;
    this.#shotHashes.add(hash);
    this.#pendingShot = shot;
    this.#pump();
  }

  /** The final recognition result: the session is ready to send; COMMIT goes once the key is released. */
  final(text: string): void {
    if (this.#closed()) return;
    // A repeated final merges to itself; a further segment is kept, not lost.
    this.#finalText = mergeSpeech(this.#finalText, text);
    this.#readyToSend = true;
    this.#maybeDispatch();
  }

  /** The push-to-talk key was released (speech may still be finishing before it). */
  release(): void {
    if (this.#closed()) return;
    this.#released = true;
    this.#maybeDispatch();
  }

  /**
   * Cancels the session: pending COLLECTs are dropped, the one in flight and the COMMIT stream are
   * aborted, and InterruptSession tells the server (which also drops its COLLECT buffer).
   * Idempotent; resolves when the interrupt call has finished and rejects if it failed.
   */
  cancel(): Promise<void> {
    if (this.#cancelDone) return this.#cancelDone;
    this.#cancelled = true;
    this.#clearTimers();
    this.#pendingText = '';
    this.#pendingShot = undefined;
    this.#abort.abort(new Error('session cancelled'));
    if (!this.#dispatched) this.#settleDispatch(undefined);
    this.#cancelDone = this.#options.transport.interrupt(this.#options.hardwareId).then(() => undefined);
    return this.#cancelDone;
  }

  #closed(): boolean {
    return this.#cancelled || this.#dispatched;
  }

  #clearTimers(): void {
    this.#timers.clearTimeout(this.#debounceTimer);
    this.#timers.clearTimeout(this.#maxWaitTimer);
    this.#debounceTimer = undefined;
    this.#maxWaitTimer = undefined;
  }

  #timerFired(): void {
    this.#clearTimers();
    this.#due = true;
    this.#pump();
  }

  /** Sends the next COLLECT when none is in flight and something is ready to go. */
  #pump(): void {
    if (this.#inFlight || this.#cancelled) return;
    const textReady = this.#pendingText !== '' && (this.#due || this.#draining);
    if (!this.#pendingShot && !textReady) return;
    // A screenshot takes along whatever text is waiting: one call instead of two.
    const sent: Sent = { text: this.#pendingText, screenshot: this.#pendingShot };
    this.#pendingText = '';
    this.#pendingShot = undefined;
    this.#due = false;
    this.#clearTimers();
    this.#seq += 1;
    const request: StreamRequest = {
      prompt: '',
      hardwareId: this.#options.hardwareId,
      sessionId: this.#options.sessionId,
      phase: RequestPhase.REQUEST_PHASE_COLLECT,
      chunkSeq: this.#seq,
      chunkText: sent.text === '' ? undefined : sent.text,
      screenshot: sent.screenshot?.base64,
      screenWidth: sent.screenshot?.width,
      screenHeight: sent.screenshot?.height,
    };
    if (sent.screenshot) {
      this.#shot = sent.screenshot;
      this.#shotAcked = false;
    }
    let call: Promise<void>;
    try {
      call = this.#options.transport.collect(request, {
        signal: this.#abort.signal,
        deadlineMs: this.#options.timing.collectDeadlineMs,
      });
    } catch (error) {
      call = Promise.reject(error);
    }
    this.#inFlight = call.then(
      () => {
        if (sent.screenshot && this.#shot === sent.screenshot) this.#shotAcked = true;
      },
      (error: unknown) => this.#collectFailed(sent, error),
    ).finally(() => {
      this.#inFlight = undefined;
      this.#pump();
    });
  }

  #collectFailed(sent: Sent, error: unknown): void {
    if (this.#cancelled) return;
    this.#options.onCollectError?.(error);
    if (sent.text === '') return;
    if (this.#draining) {
      this.#carried = mergeSpeech(this.#carried, sent.text);
    } else {
      // Put it back in front of newer text; it goes out with the next COLLECT. Not retried on
      // its own, so a server that keeps failing does not get a call per debounce interval.
      this.#pendingText = mergeSpeech(sent.text, this.#pendingText);
    }
  }

  #maybeDispatch(): void {
    if (!this.#readyToSend || !this.#released || this.#dispatched || this.#cancelled) return;
    this.#dispatched = true;
    this.#draining = true;
    void this.#dispatch().then(this.#settleDispatch, this.#failDispatch);
  }

  async #dispatch(): Promise<C | undefined> {
    this.#pump();
    while (this.#inFlight) {
      await this.#inFlight;
      this.#pump();
    }
    if (this.#cancelled) return undefined;
    const shot = this.#shotAcked ? undefined : this.#shot;
    const request: StreamRequest = {
      prompt: mergeSpeech(this.#carried, this.#finalText),
      hardwareId: this.#options.hardwareId,
      sessionId: this.#options.sessionId,
      phase: RequestPhase.REQUEST_PHASE_COMMIT,
      // docs/COMPATIBILITY.md: COMMIT goes with chunk_seq 0; the server orders only COLLECTs.
      chunkSeq: 0,
      screenshot: shot?.base64,
      screenWidth: shot?.width,
      screenHeight: shot?.height,
    };
    return this.#options.transport.commit(request, this.#abort.signal);
  }
}
