import type { Pcm, TtsProvider, VoiceRequest } from '../../src/audio/provider.js';

/** One call of `synthesize`: its text, when it started, and when its last audio was taken. */
export interface Synthesis {
  readonly text: string;
  readonly startedAt: number;
  endedAt: number | undefined;
}

/**
 * A speech engine for tests that wraps a real one and records every synthesis with its times
 * (`performance.now()`), so a test can see what ran while what else was being sent.
 */
export class RecordingTts implements TtsProvider {
  readonly syntheses: Synthesis[] = [];
  readonly #inner: TtsProvider;
  #watchers: Array<{ ready: () => boolean; resolve: () => void }> = [];

  constructor(inner: TtsProvider) {
    this.#inner = inner;
  }

  get name(): string {
    return this.#inner.name;
  }

  warm(): Promise<void> {
    return this.#inner.warm();
  }

  resolveVoice(text: string, request: VoiceRequest): string {
    return this.#inner.resolveVoice(text, request);
  }

  async *synthesize(text: string, voice: string, signal: AbortSignal): AsyncIterable<Pcm> {
    const record: Synthesis = { text, startedAt: performance.now(), endedAt: undefined };
    this.syntheses.push(record);
    this.#check();
    yield* this.#inner.synthesize(text, voice, signal);
    record.endedAt = performance.now();
    this.#check();
  }

  /** Resolves as soon as `ready()` holds, checked at every synthesis start and end. */
  until(ready: () => boolean): Promise<void> {
    if (ready()) return Promise.resolve();
    return new Promise((resolve) => this.#watchers.push({ ready, resolve }));
  }

  #check(): void {
    this.#watchers = this.#watchers.filter((watcher) => {
      if (!watcher.ready()) return true;
      watcher.resolve();
      return false;
    });
  }
}
