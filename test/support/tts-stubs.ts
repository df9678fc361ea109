/**
 * The in-process speech engines tests use where the engine itself is not under test (the
 * network engines have their own fakes in test/fakes/): a scripted engine, and a recorder that
 * wraps a real one.
 */
import type { Pcm, TtsProvider, VoiceRequest } from '../../src/audio/provider.js';
import { AppError } from '../../src/errors.js';

/** What a {@link ScriptedTts} does. `{}`: two tiny pieces at 24 kHz for every text. */
export interface TtsScript {
  /** The audio of every synthesis. Default: `pieces` tiny pieces at 24 kHz. */
  readonly audio?: readonly Pcm[];
  /** Tiny pieces yielded before failing (or before ending, without `fail`). Default 2. */
  readonly pieces?: number;
  /** Thrown after the audio. */
  readonly fail?: AppError;
  readonly warmFails?: boolean;
  /** Voice per language. */
  readonly voices?: Readonly<Record<string, string>>;
  /** The voice for any other language. Default `<name>-default`. */
  readonly voice?: string;
}

/** A scripted engine that records what it was asked to say and in which voice. */
export class ScriptedTts implements TtsProvider {
  readonly calls: Array<{ text: string; voice: string }> = [];
  warmed = false;
  constructor(
    readonly name: string,
    private readonly script: TtsScript = {},
  ) {}

  async warm(): Promise<void> {
    if (this.script.warmFails) throw new AppError('unavailable', `${this.name} cannot start`);
    this.warmed = true;
  }

  resolveVoice(_text: string, request: VoiceRequest): string {
    return this.script.voices?.[request.language ?? ''] ?? this.script.voice ?? `${this.name}-default`;
  }

  async *synthesize(text: string, voice: string, signal: AbortSignal): AsyncIterable<Pcm> {
    this.calls.push({ text, voice });
    const audio =
      this.script.audio ?? Array.from({ length: this.script.pieces ?? 2 }, (_, i): Pcm => ({ samples: Int16Array.of(100 + i, 200 + i), sampleRate: 24000, channels: 1 }));
    for (const pcm of audio) {
      signal.throwIfAborted();
      yield { ...pcm, samples: pcm.samples.slice() };
    }
    if (this.script.fail) throw this.script.fail;
  }
}

/** A pure tone with digital silence around it, cut into `parts` pieces. */
export function toneWithSilence(frequency: number, rate: number, seconds: number, silenceSeconds: number, parts = 1): Pcm[] {
  const silence = Math.round(rate * silenceSeconds);
  const tone = Math.round(rate * seconds);
  const all = new Int16Array(silence + tone + silence);
  for (let i = 0; i < tone; i++) all[silence + i] = Math.round(10000 * Math.sin((2 * Math.PI * frequency * i) / rate));
  const step = Math.ceil(all.length / parts);
  const out: Pcm[] = [];
  for (let i = 0; i < all.length; i += step) out.push({ samples: all.slice(i, i + step), sampleRate: rate, channels: 1 });
  return out;
}

/** One call of `synthesize`: its text, when it started, and when its last audio was taken. */
export interface Synthesis {
  readonly text: string;
  readonly startedAt: number;
  endedAt: number | undefined;
}

/**
 * A speech engine for tests that wraps a real one and records every synthesis with its times
 * (`performance.now()`), so a test can see what ran while what else was being sent, and every
 * piece it yielded.
 */
export class RecordingTts implements TtsProvider {
  readonly syntheses: Synthesis[] = [];
  /** Every piece the engine yielded, in order. */
  readonly parts: Pcm[] = [];
  readonly #inner: TtsProvider;
  #watchers: Array<{ ready: () => boolean; resolve: () => void }> = [];

  constructor(inner: TtsProvider) {
    this.#inner = inner;
  }

  /** How many syntheses started. */
  get calls(): number {
    return this.syntheses.length;
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
    for await (const pcm of this.#inner.synthesize(text, voice, signal)) {
      this.parts.push(pcm);
      yield pcm;
    }
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
