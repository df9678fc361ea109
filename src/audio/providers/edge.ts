import { on } from 'node:events';
import { AppError } from '../../errors.js';
import type { Pcm, TtsProvider, VoiceRequest } from '../provider.js';
import { configuredVoiceLookup, selectVoice } from '../voice-select.js';
import {
  EDGE_PCM_FORMATS,
  edgeHeaders,
  edgeId,
  edgeUrl,
  isEdgeVoiceName,
  parseBinaryMessage,
  speechConfigMessage,
  ssmlMessage,
  textMessagePath,
  type EdgePcmFormat,
  type Prosody,
} from './edge-protocol.js';
import { kindOfHttpStatus, upstreamError, type Countdown, type UpstreamCall } from '../../upstream.js';
import { speakInPieces } from './network-speech.js';
import { PcmBytes } from './pcm-bytes.js';

/**
 * Microsoft Edge's read-aloud voices (the engine the original Nexy server used), over the
 * service's WebSocket protocol (see edge-protocol.ts) with raw PCM output, so audio goes on as
 * each binary frame arrives. Needs the internet; one connection per text piece, as Edge does.
 */

export interface EdgeOptions {
  /** `wss://speech.platform.bing.com/consumer/speech/synthesize/readaloud/edge/v1` (tests: a local fake). */
  readonly baseUrl: string;
  readonly trustedClientToken: string;
  /** The Edge version sent in `Sec-MS-GEC-Version` and the User-Agent. */
  readonly chromiumVersion: string;
  readonly outputFormat: EdgePcmFormat;
  /** Language → voice (`en-US-AriaNeural`), `default` required. */
  readonly voices: Readonly<Record<string, string>>;
  readonly prosody: Prosody;
  /** Nothing for this long (connecting, or between two messages) → a timeout. */
  readonly timeoutMs: number;
  /** Longer texts go as several turns, cut at sentence ends (the service caps one message at 64 KiB). */
  readonly maxTextChars: number;
  /** The clock for the `Sec-MS-GEC` token and timestamps. Default `Date.now`. */
  readonly now?: () => number;
}

export class EdgeTts implements TtsProvider {
  readonly name = 'edge';
  readonly #options: EdgeOptions;
  readonly #sampleRate: number;
  readonly #now: () => number;

  /** No work here: nothing is sent until the first sentence. */
  constructor(options: EdgeOptions) {
    if (options.voices.default === undefined) throw new AppError('internal', 'edge: voices.default is required');
    this.#options = options;
    this.#sampleRate = EDGE_PCM_FORMATS[options.outputFormat];
    this.#now = options.now ?? Date.now;
  }

  /** Checks the configuration only: start-up does not depend on the network. */
  async warm(): Promise<void> {
    let url: URL;
    try {
      url = new URL(this.#options.baseUrl);
    } catch (error) {
      throw new AppError('internal', `edge: base_url is not a URL (${this.#options.baseUrl})`, { cause: error });
    }
    if (url.protocol !== 'wss:' && url.protocol !== 'ws:') throw new AppError('internal', `edge: base_url must be ws:// or wss:// (${url.href})`);
  }

  /** An explicit Edge voice name (`de-DE-KatjaNeural`) is used as given; else the configured voices decide. */
  resolveVoice(text: string, request: VoiceRequest): string {
    const explicit = request.voice?.trim();
    if (explicit !== undefined && isEdgeVoiceName(explicit)) return explicit;
    return selectVoice(text, request, configuredVoiceLookup(this.#options.voices));
  }

  /**
   * PCM as each audio frame arrives. Failures are AppErrors: a refused handshake by its HTTP
   * status (429 limit, 401/403 unavailable and not retryable, 5xx unavailable), a connection
   * lost before `turn.end` unavailable, a stall timeout; an aborted `signal` closes the socket.
   */
  synthesize(text: string, voice: string, signal: AbortSignal): AsyncIterable<Pcm> {
    const limits = { name: this.name, maxChars: this.#options.maxTextChars, stallMs: this.#options.timeoutMs };
    return speakInPieces(limits, text, signal, (piece, call, stall) => this.#turn(piece, voice, call, stall));
  }

  async *#turn(text: string, voice: string, call: UpstreamCall, stall: Countdown): AsyncGenerator<Pcm> {
    const now = this.#now();
    // Imported on first use: a server that never speaks through Edge never loads ws.
    const { default: WebSocket } = await import('ws');
    const socket = new WebSocket(edgeUrl(this.#options, now, edgeId()), { headers: edgeHeaders(this.#options.chromiumVersion) });
    // Listening before any event can fire: messages that arrive while audio is being passed on
    // are queued, and an 'error' event ends the iteration with that error.
    const messages = on(socket, 'message', { signal: call.signal, close: ['close'] });
    // Errors after the iteration stopped listening (a terminate mid-handshake) must not go
    // unhandled; while it listens, the iteration gets them too.
    socket.on('error', () => undefined);
    let refusedStatus: number | undefined;
    socket.on('unexpected-response', (_request, response) => {
      refusedStatus = response.statusCode;
      socket.terminate();
    });
    socket.once('open', () => {
      stall.restart();
      const ignore = (): void => undefined; // a failed send surfaces as 'error' or 'close'
      socket.send(speechConfigMessage(this.#options.outputFormat, now), ignore);
      socket.send(ssmlMessage(text, voice, this.#options.prosody, edgeId(), now), ignore);
    });
    try {
      const bytes = new PcmBytes();
      let heard = false;
      let ended = false;
      for await (const [data, isBinary] of messages as AsyncIterable<[Buffer, boolean]>) {
        stall.restart();
        if (!isBinary) {
          if (textMessagePath(data.toString('utf8')) === 'turn.end') {
            ended = true;
            break;
          }
          continue;
        }
        const message = parseBinaryMessage(data);
        if (message === undefined) throw upstreamError('speech engine', 'unavailable', new Error('a binary message shorter than its header'));
        if (message.path !== 'audio' || message.body.length === 0) continue;
        const samples = bytes.push(message.body);
        if (samples.length === 0) continue;
        heard = true;
        yield { samples, sampleRate: this.#sampleRate, channels: 1 };
      }
      if (!ended) throw upstreamError('speech engine', 'unavailable', new Error('the connection closed before turn.end'));
      if (!heard) throw upstreamError('speech engine', 'unavailable', new Error('the service sent no audio'));
      call.complete();
    } catch (error) {
      // A refused handshake reads as a closed connection: its status says why.
      if (refusedStatus !== undefined && !call.signal.aborted) {
        throw upstreamError('speech engine', kindOfHttpStatus(refusedStatus), new Error(`handshake refused with HTTP ${refusedStatus}`, { cause: error }));
      }
      throw error;
    } finally {
      // Done: a normal close. Stopped early (abort, failure, the consumer gone): drop it now.
      if (call.completed) socket.close(1000);
      else socket.terminate();
    }
  }
}

/** The options of `EdgeTts` from `audio_generation.edge`. */
export function edgeOptionsFromConfig(section: {
  readonly base_url: string;
  readonly trusted_client_token: string;
  readonly chromium_version: string;
  readonly output_format: EdgePcmFormat;
  readonly voices: Readonly<Record<string, string>>;
  readonly rate: string;
  readonly pitch: string;
  readonly volume: string;
  readonly timeout_ms: number;
  readonly max_text_chars: number;
}): EdgeOptions {
  return {
    baseUrl: section.base_url,
    trustedClientToken: section.trusted_client_token,
    chromiumVersion: section.chromium_version,
    outputFormat: section.output_format,
    voices: section.voices,
    prosody: { rate: section.rate, pitch: section.pitch, volume: section.volume },
    timeoutMs: section.timeout_ms,
    maxTextChars: section.max_text_chars,
  };
}
