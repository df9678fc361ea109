/**
 * Gives the C heap's free memory back to the operating system while the server is idle
 * (`server.idle_memory_trim_ms`), after a full garbage collection of the main thread's heap. Start-up leaves several MB of it behind (V8 parsing and
 * compiling the module graph, the eSpeak engines loading and warming up, in the main thread's and
 * each worker's malloc arena): glibc keeps such memory for reuse, counted in the process's RSS,
 * until `malloc_trim` releases it (every arena, free pages in the middle too). Node has no API
 * for it: glibc's function is called through koffi (a dependency already, for native eSpeak).
 * Where there is no glibc (musl, macOS) or koffi cannot load, nothing is trimmed.
 */

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** `malloc_trim(0)`: true when memory was released. */
export type MallocTrim = () => boolean;

/**
 * V8's full garbage collection of this thread's heap, without `--expose-gc` on the command line
 * (`nexy` is also run as `bin/nexy.mjs`): the flag is set only while a fresh context takes `gc`,
 * so no other context sees it. Before a trim, it turns the garbage of start-up (and its growth
 * of the heap) into free memory that the trim can give back: a steadier idle RSS, a few MB lower.
 */
export function fullGc(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (typeof exposed === 'function') return exposed;
  setFlagsFromString('--expose-gc');
  try {
    return runInNewContext('gc') as () => void;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
}

let loading: Promise<MallocTrim | undefined> | undefined;

/** glibc's `malloc_trim`, or undefined where it is not available. Loaded once per process. */
export function loadMallocTrim(): Promise<MallocTrim | undefined> {
  loading ??= (async () => {
    if (process.platform !== 'linux') return undefined;
    try {
      const { default: koffi } = await import('koffi');
      const trim = koffi.load('libc.so.6').func('int malloc_trim(size_t pad)') as (pad: number) => number;
      return () => trim(0) === 1;
    } catch {
      return undefined;
    }
  })();
  return loading;
}

export interface IdleTrimOptions {
  /** Milliseconds between two checks (`server.idle_memory_trim_ms`). */
  readonly everyMs: number;
  /** No work running now (no turn). */
  readonly isIdle: () => boolean;
  /** How many turns have started so far: a check trims only after some ran since the last trim. */
  readonly turnsStarted: () => number;
  readonly trim: MallocTrim;
}

/**
 * Trims once when started (after the warm-up), then at each check that finds the server idle
 * with turns run since the last trim: the memory a burst of work freed goes back once it is over.
 */
export class IdleTrim {
  readonly #options: IdleTrimOptions;
  #timer: NodeJS.Timeout | undefined;
  #trimmedAfter = -1;

  constructor(options: IdleTrimOptions) {
    this.#options = options;
  }

  start(): void {
    this.check();
    this.#timer ??= setInterval(() => this.check(), this.#options.everyMs).unref();
  }

  /** One check; true when it trimmed. */
  check(): boolean {
    const started = this.#options.turnsStarted();
    if (started === this.#trimmedAfter || !this.#options.isIdle()) return false;
    this.#trimmedAfter = started;
    this.#options.trim();
    return true;
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

/**
 * Once `ready` settles, trims whenever the service has been idle after turns
 * (`server.idle_memory_trim_ms`; 0: never). Returns the stop, for the server's shutdown.
 */
export function startIdleTrim(
  everyMs: number,
  ready: Promise<unknown>,
  service: { readonly activeTurns: number; readonly turnsStarted: number },
): () => void {
  if (everyMs <= 0) return () => undefined;
  let idleTrim: IdleTrim | undefined;
  let stopped = false;
  void ready.then(async () => {
    const mallocTrim = await loadMallocTrim();
    if (mallocTrim === undefined || stopped) return;
    const gc = fullGc();
    const trim = () => {
      gc();
      return mallocTrim();
    };
    idleTrim = new IdleTrim({ everyMs, isIdle: () => service.activeTurns === 0, turnsStarted: () => service.turnsStarted, trim });
    idleTrim.start();
  }, () => undefined);
  return () => {
    stopped = true;
    idleTrim?.stop();
  };
}
