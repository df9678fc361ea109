import { AppError } from '../../errors.js';
import type { Pcm, TtsProvider, VoiceRequest } from '../provider.js';
import { configuredVoiceLookup, selectVoice } from '../voice-select.js';
import { kindOfHttpStatus, upstreamError, type Countdown, type UpstreamCall } from '../../upstream.js';
import { speakInPieces } from './network-speech.js';
import { PcmBytes } from './pcm-bytes.js';

/**
 * Speech from an OpenAI-compatible `POST {baseUrl}/audio/speech` with `response_format: pcm`:
 * OpenAI itself (24 kHz 16-bit mono little-endian) or a local server speaking the same API
 * (Kokoro-FastAPI, Piper HTTP servers) at its own rate. The body is read as it arrives and each
 * network piece goes on at once, so the first audio leaves after the first bytes, not the last.
 */

export interface OpenAiSpeechOptions {
  /** `…/v1`; the request goes to `{baseUrl}/audio/speech`. */
  readonly baseUrl: string;
  /** Empty: no Authorization header (local servers need none). */
  readonly apiKey: string;
  readonly model: string;
  /** Language → voice, `default` required (`audio_generation.openai_speech.voices`). */
  readonly voices: Readonly<Record<string, string>>;
  /** Rate of the PCM the server sends (OpenAI: 24000). */
  readonly sampleRate: number;
  /** Speaking speed sent as `speed` (OpenAI: 0.25–4); 1, the normal speed, is not sent. */
  readonly speed: number;
  /** No bytes for this long (before the answer, or between two pieces) → a timeout. */
  readonly timeoutMs: number;
  /** Longer texts go as several requests, cut at sentence ends (OpenAI accepts 4096). */
  readonly maxInputChars: number;
}

/** Hosts that refuse every request without a key: a chain skips the engine at start instead. */
const KEYED_HOSTS = /(^|\.)openai\.com$/u;

/** How much of an error body is kept for the log. */
const ERROR_BODY_LOG_CHARS = 500;

export class OpenAiSpeechTts implements TtsProvider {
  readonly name = 'openai_speech';
  readonly #options: OpenAiSpeechOptions;
  readonly #url: string;

  /** No work here: nothing is sent until the first sentence. */
  constructor(options: OpenAiSpeechOptions) {
    if (options.voices.default === undefined) throw new AppError('internal', 'openai_speech: voices.default is required');
    this.#options = options;
    this.#url = `${options.baseUrl.replace(/\/+$/u, '')}/audio/speech`;
  }

  /** Checks the configuration only: start-up does not depend on the network. */
  async warm(): Promise<void> {
    let host: string;
    try {
      host = new URL(this.#url).hostname;
    } catch (error) {
      throw new AppError('internal', `openai_speech: base_url is not a URL (${this.#options.baseUrl})`, { cause: error });
    }
    if (this.#options.apiKey === '' && KEYED_HOSTS.test(host)) {
      throw new AppError('unavailable', `openai_speech: ${host} needs an API key (OPENAI_TTS_API_KEY)`, { retryable: false });
    }
  }

  resolveVoice(text: string, request: VoiceRequest): string {
    return selectVoice(text, request, configuredVoiceLookup(this.#options.voices));
  }

  /**
   * PCM pieces as the bytes arrive (an odd trailing byte waits for the next piece). A failure
   * is an AppError: 429 limit, 5xx or a broken connection unavailable, 401/403 unavailable and
   * not retryable, a stall timeout; an aborted `signal` closes the request.
   */
  synthesize(text: string, voice: string, signal: AbortSignal): AsyncIterable<Pcm> {
    const limits = { name: this.name, maxChars: this.#options.maxInputChars, stallMs: this.#options.timeoutMs };
    return speakInPieces(limits, text, signal, (input, call, stall) => this.#request(input, voice, call, stall));
  }

  async *#request(input: string, voice: string, call: UpstreamCall, stall: Countdown): AsyncGenerator<Pcm> {
    const response = await fetch(this.#url, {
      method: 'POST',
      headers: this.#headers(),
      body: JSON.stringify(this.#body(input, voice)),
      signal: call.signal,
    });
    if (!response.ok) {
      const detail = (await response.text()).slice(0, ERROR_BODY_LOG_CHARS);
      throw upstreamError('speech engine', kindOfHttpStatus(response.status), new Error(`HTTP ${response.status}: ${detail}`));
    }
    const type = response.headers.get('content-type') ?? '';
    if (/json|text\//iu.test(type) || response.body === null) {
      // A 200 that is not audio (a proxy's page, an error object): the server is not usable.
      const detail = (await response.text()).slice(0, ERROR_BODY_LOG_CHARS);
      throw upstreamError('speech engine', 'unavailable', new Error(`not PCM audio (content-type ${type}): ${detail}`));
    }
    stall.restart();
    const bytes = new PcmBytes();
    let heard = false;
    for await (const piece of response.body) {
      stall.restart();
      const samples = bytes.push(piece);
      if (samples.length === 0) continue;
      heard = true;
      yield { samples, sampleRate: this.#options.sampleRate, channels: 1 };
    }
    if (!heard) throw upstreamError('speech engine', 'unavailable', new Error('the answer held no audio'));
    call.complete();
  }

  #body(input: string, voice: string): Record<string, unknown> {
    const body: Record<string, unknown> = { model: this.#options.model, input, voice, response_format: 'pcm' };
    // Sent only when it changes something: some models and servers reject the field.
    if (this.#options.speed !== 1) body.speed = this.#options.speed;
    return body;
  }

  #headers(): Record<string, string> {
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'audio/pcm, application/octet-stream' };
    if (this.#options.apiKey !== '') headers.authorization = `Bearer ${this.#options.apiKey}`;
    return headers;
  }
}

/** The options of `OpenAiSpeechTts` from `audio_generation.openai_speech`. */
export function openAiSpeechOptionsFromConfig(section: {
  readonly base_url: string;
  readonly api_key: string;
  readonly model: string;
  readonly voices: Readonly<Record<string, string>>;
  readonly sample_rate: number;
  readonly speed: number;
  readonly timeout_ms: number;
  readonly max_input_chars: number;
}): OpenAiSpeechOptions {
  return {
    baseUrl: section.base_url,
    apiKey: section.api_key,
    model: section.model,
    voices: section.voices,
    sampleRate: section.sample_rate,
    speed: section.speed,
    timeoutMs: section.timeout_ms,
    maxInputChars: section.max_input_chars,
  };
}
