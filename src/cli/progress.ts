import type { OutputStream } from './command.js';

/**
 * A one-line progress indicator on stderr for answers that take a while: a spinner, the time so
 * far and the seconds of audio received. Only on a terminal; piped output stays plain.
 *
 * The answer's text streams to stdout on the same terminal, with the cursor in mid-line, so the
 * indicator is drawn right of the cursor with the cursor saved and restored around it, and erased
 * before every write to stdout.
 */

const SAVE_CURSOR = '\x1b7';
const RESTORE_CURSOR = '\x1b8';
const ERASE_TO_END_OF_LINE = '\x1b[K';
const DIM = '\x1b[2m';
const RESET = '\x1b[0m';
const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const MS_PER_SECOND = 1000;

export interface ProgressTimers {
  setInterval(callback: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  now(): number;
}

const liveTimers: ProgressTimers = {
  setInterval: (callback, ms) => globalThis.setInterval(callback, ms),
  clearInterval: (handle) => globalThis.clearInterval(handle as NodeJS.Timeout),
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as NodeJS.Timeout),
  now: () => performance.now(),
};

export interface ProgressOptions {
  /** Nothing is shown before the command has run this long: short answers need no spinner. */
  readonly afterMs: number;
  readonly intervalMs: number;
  readonly timers?: ProgressTimers;
}

export class Progress {
  readonly #stream: OutputStream;
  readonly #options: ProgressOptions;
  readonly #timers: ProgressTimers;
  readonly #enabled: boolean;
  #startedAt = 0;
  #frame = 0;
  #audioSec = 0;
  #drawn = false;
  #delay: unknown;
  #interval: unknown;

  constructor(stream: OutputStream, options: ProgressOptions) {
    this.#stream = stream;
    this.#options = options;
    this.#timers = options.timers ?? liveTimers;
    this.#enabled = stream.isTTY === true;
  }

  start(): void {
    if (!this.#enabled) return;
    this.#startedAt = this.#timers.now();
    this.#delay = this.#timers.setTimeout(() => {
      this.#draw();
      this.#interval = this.#timers.setInterval(() => this.#draw(), this.#options.intervalMs);
    }, this.#options.afterMs);
  }

  /** Seconds of audio received so far, shown on the next frame. */
  setAudioSeconds(seconds: number): void {
    this.#audioSec = seconds;
  }

  /** Erases the indicator (before writing to stdout); the next frame draws it again. */
  clear(): void {
    if (!this.#drawn) return;
    this.#stream.write(SAVE_CURSOR + ERASE_TO_END_OF_LINE + RESTORE_CURSOR);
    this.#drawn = false;
  }

  stop(): void {
    this.#timers.clearTimeout(this.#delay);
    this.#timers.clearInterval(this.#interval);
    this.clear();
  }

  #draw(): void {
    const elapsed = (this.#timers.now() - this.#startedAt) / MS_PER_SECOND;
    const frame = FRAMES[this.#frame++ % FRAMES.length];
    const audio = this.#audioSec > 0 ? ` · ${this.#audioSec.toFixed(1)} s of audio` : '';
    const text = ` ${frame} ${elapsed.toFixed(1)} s${audio}`;
    this.#stream.write(SAVE_CURSOR + ERASE_TO_END_OF_LINE + DIM + text + RESET + RESTORE_CURSOR);
    this.#drawn = true;
  }
}
