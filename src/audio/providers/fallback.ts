import type { Logger } from 'pino';
import { AppError, isAbort, throwIfAborted, toAppError } from '../../errors.js';
import type { Pcm, TtsProvider, VoiceRequest } from '../provider.js';

/**
 * Speech engines in order of preference. Each sentence goes to the first engine; if it fails
 * before any audio of that sentence, the next engine speaks the whole sentence. Once audio has
 * started, a failure is the sentence's failure: finishing it in another voice would be worse
 * than stopping. The last engine (eSpeak, offline, in the shipped config) is the one that
 * always works.
 */

export interface FallbackTtsOptions {
  /** A member failed before audio and the next one takes the sentence (a metric hooks here). */
  readonly onFallback?: (from: string, to: string, error: AppError) => void;
  /** Fallbacks and engines skipped at `warm()` are logged here. */
  readonly logger?: Logger;
}

/** Between member names in the chain's `name`. */
const CHAIN_SEPARATOR = '>';

export class FallbackTts implements TtsProvider {
  /** Members still in the chain: `warm()` drops those that cannot start. */
  #members: readonly TtsProvider[];
  readonly #options: FallbackTtsOptions;

  constructor(members: readonly TtsProvider[], options: FallbackTtsOptions = {}) {
    if (members.length === 0) throw new AppError('internal', 'a speech fallback chain needs at least one engine');
    this.#members = [...members];
    this.#options = options;
  }

  /** The chain in order, e.g. `openai_speech>espeak` (for logs, /status and cache keys). */
  get name(): string {
    return this.#members.map((m) => m.name).join(CHAIN_SEPARATOR);
  }

  /** Names of the members in order. */
  get chain(): readonly string[] {
    return this.#members.map((m) => m.name);
  }

  /**
   * Warms every member. One that fails is dropped with a warning, unless it is the last one:
   * then there is nothing left to speak with and the error is thrown.
   */
  async warm(): Promise<void> {
    const kept: TtsProvider[] = [];
    const members = this.#members;
    for (let i = 0; i < members.length; i++) {
      const member = members[i]!;
      try {
        await member.warm();
        kept.push(member);
      } catch (error) {
        if (i === members.length - 1) throw error;
        this.#options.logger?.warn({ err: error, engine: member.name }, 'speech engine failed to start; skipped in the fallback chain');
      }
    }
    this.#members = kept;
  }

  /** Closes every member that has something to close. */
  async close(): Promise<void> {
    await Promise.all(this.#members.map((m) => m.close?.()));
  }

  /**
   * Each member's own voice for the text and request, as a JSON array: a sentence that falls
   * back is spoken in the next engine's voice for the same language, not in a voice id it lacks.
   */
  resolveVoice(text: string, request: VoiceRequest): string {
    return JSON.stringify(this.#members.map((m) => m.resolveVoice(text, request)));
  }

  /**
   * The first member's audio, or the next one's when it failed before any; pieces from a
   * fallback carry `engine` and `fallback: true`. An abort is never a reason to fall back.
   */
  async *synthesize(text: string, voice: string, signal: AbortSignal): AsyncIterable<Pcm> {
    throwIfAborted(signal);
    const members = this.#members;
    const voices = this.#voices(text, voice, members);
    for (let i = 0; i < members.length; i++) {
      const member = members[i]!;
      let started = false;
      try {
        for await (const pcm of member.synthesize(text, voices[i]!, signal)) {
          if (pcm.samples.length === 0) continue;
          started = true;
          yield i === 0 ? { ...pcm, engine: pcm.engine ?? member.name } : { ...pcm, engine: pcm.engine ?? member.name, fallback: true };
        }
        return;
      } catch (error) {
        const next = members[i + 1];
        if (started || next === undefined || signal.aborted || isAbort(error)) throw error;
        const reason = toAppError(error);
        this.#options.logger?.warn(
          { err: error, from: member.name, to: next.name, kind: reason.kind },
          'speech engine failed before audio; the next engine speaks the sentence',
        );
        this.#options.onFallback?.(member.name, next.name, reason);
      }
    }
  }

  /** The voice for each member: from `resolveVoice`'s array, else each member's own choice. */
  #voices(text: string, voice: string, members: readonly TtsProvider[]): string[] {
    try {
      const parsed: unknown = JSON.parse(voice);
      if (Array.isArray(parsed) && parsed.length === members.length && parsed.every((v) => typeof v === 'string')) return parsed;
    } catch {
      // A plain voice id: each member picks its voice for it below.
    }
    return members.map((m) => m.resolveVoice(text, { voice }));
  }
}
