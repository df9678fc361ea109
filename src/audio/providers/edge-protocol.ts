import { createHash, randomUUID } from 'node:crypto';

/**
 * The Microsoft Edge read-aloud WebSocket protocol, as its maintained open clients speak it
 * (rany2/edge-tts: src/edge_tts/communicate.py, constants.py and drm.py; npm msedge-tts), which
 * in turn follow the Speech SDK's message format (cognitive-services-speech-sdk-js,
 * WebsocketMessageFormatter.ts). Pure functions: building the URL, headers and text messages,
 * and reading the service's messages.
 *
 * - URL: `{base}?TrustedClientToken=…&Sec-MS-GEC=…&Sec-MS-GEC-Version=1-{chromium}&ConnectionId=…`.
 * - Client → service, text: `speech.config` (output format), then `ssml` (voice, prosody, text).
 * - Service → client, text: header lines, a blank line, a body; `Path:` is `turn.start`,
 *   `response`, `audio.metadata` or `turn.end` (the end of the audio).
 * - Service → client, binary: a 2-byte big-endian header length, that many bytes of header lines
 *   (`Path:audio`), then the audio itself.
 */

/** Raw PCM output formats of the service and their sample rates (16-bit mono little-endian). */
export const EDGE_PCM_FORMATS = {
  'raw-8khz-16bit-mono-pcm': 8000,
  'raw-16khz-16bit-mono-pcm': 16000,
  'raw-22050hz-16bit-mono-pcm': 22050,
  'raw-24khz-16bit-mono-pcm': 24000,
  'raw-44100hz-16bit-mono-pcm': 44100,
  'raw-48khz-16bit-mono-pcm': 48000,
} as const;

export type EdgePcmFormat = keyof typeof EDGE_PCM_FORMATS;

/** Seconds between the Windows file-time epoch (1601-01-01) and the Unix epoch. */
const WINDOWS_EPOCH_OFFSET_S = 11_644_473_600n;
/** The token changes every five minutes: the time is rounded down to that. */
const GEC_WINDOW_S = 300n;
/** Windows file time counts 100 ns ticks. */
const TICKS_PER_SECOND = 10_000_000n;

/**
 * The `Sec-MS-GEC` token the service has required since late 2024: SHA-256 (uppercase hex) of
 * the Windows file time, rounded down to 5 minutes, followed by the trusted client token.
 */
export function secMsGec(nowMs: number, trustedClientToken: string): string {
  const seconds = BigInt(Math.floor(nowMs / 1000)) + WINDOWS_EPOCH_OFFSET_S;
  const ticks = (seconds - (seconds % GEC_WINDOW_S)) * TICKS_PER_SECOND;
  return createHash('sha256').update(`${ticks}${trustedClientToken}`, 'ascii').digest('hex').toUpperCase();
}

/** A request or connection id: a UUID without dashes, as Edge sends it. */
export function edgeId(): string {
  return randomUUID().replaceAll('-', '');
}

export interface EdgeConnection {
  readonly baseUrl: string;
  readonly trustedClientToken: string;
  readonly chromiumVersion: string;
}

export function edgeUrl(connection: EdgeConnection, nowMs: number, connectionId: string): string {
  const url = new URL(connection.baseUrl);
  url.searchParams.set('TrustedClientToken', connection.trustedClientToken);
  url.searchParams.set('Sec-MS-GEC', secMsGec(nowMs, connection.trustedClientToken));
  url.searchParams.set('Sec-MS-GEC-Version', `1-${connection.chromiumVersion}`);
  url.searchParams.set('ConnectionId', connectionId);
  return url.toString();
}

/** The headers of Edge's own extension; the service refuses connections without them. */
export function edgeHeaders(chromiumVersion: string): Record<string, string> {
  const major = chromiumVersion.split('.')[0] ?? chromiumVersion;
  return {
    Pragma: 'no-cache',
    'Cache-Control': 'no-cache',
    Origin: 'chrome-extension://jdiccldimpdaibmpdkjnbmckianbfold',
    'User-Agent': `Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${major}.0.0.0 Safari/537.36 Edg/${major}.0.0.0`,
    'Accept-Encoding': 'gzip, deflate, br',
    'Accept-Language': 'en-US,en;q=0.9',
  };
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;
const two = (n: number): string => String(n).padStart(2, '0');

/** JavaScript's `Date.toString()` shape in UTC, which is what Edge puts in `X-Timestamp`. */
export function edgeTimestamp(nowMs: number): string {
  const d = new Date(nowMs);
  const time = `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
  return `${WEEKDAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${two(d.getUTCDate())} ${d.getUTCFullYear()} ${time} GMT+0000 (Coordinated Universal Time)`;
}

/** The first message: audio format, no word or sentence boundary events (they are not used). */
export function speechConfigMessage(format: EdgePcmFormat, nowMs: number): string {
  const config = {
    context: {
      synthesis: {
        audio: { metadataoptions: { sentenceBoundaryEnabled: 'false', wordBoundaryEnabled: 'false' }, outputFormat: format },
      },
    },
  };
  return `X-Timestamp:${edgeTimestamp(nowMs)}\r\nContent-Type:application/json; charset=utf-8\r\nPath:speech.config\r\n\r\n${JSON.stringify(config)}\r\n`;
}

export interface Prosody {
  /** `+0%`, `-10%`, … */
  readonly rate: string;
  /** `+0Hz`, `-5Hz`, … */
  readonly pitch: string;
  /** `+0%`, … */
  readonly volume: string;
}

const SHORT_VOICE = /^([a-z]{2,3})-([A-Z]{2,4})-(.+Neural)$/u;

/**
 * `en-US-AriaNeural` → `Microsoft Server Speech Text to Speech Voice (en-US, AriaNeural)`, the
 * form Edge itself sends; a voice with a region variant (`zh-CN-liaoning-XiaobeiNeural`) keeps
 * it in the locale part. Other strings are sent as they are.
 */
export function longVoiceName(voice: string): string {
  const match = SHORT_VOICE.exec(voice);
  if (match === null) return voice;
  let region = match[2]!;
  let name = match[3]!;
  const dash = name.indexOf('-');
  if (dash !== -1) {
    region = `${region}-${name.slice(0, dash)}`;
    name = name.slice(dash + 1);
  }
  return `Microsoft Server Speech Text to Speech Voice (${match[1]}-${region}, ${name})`;
}

/** True for a voice in the service's short form (`ru-RU-SvetlanaNeural`). */
export function isEdgeVoiceName(voice: string): boolean {
  return SHORT_VOICE.test(voice);
}

/** XML-escaped text with the control characters the service rejects turned into spaces. */
export function ssmlText(text: string): string {
  const cleaned = text.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/gu, ' ');
  return cleaned.replace(/[&<>"']/gu, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

export function ssmlMessage(text: string, voice: string, prosody: Prosody, requestId: string, nowMs: number): string {
  const locale = SHORT_VOICE.exec(voice);
  const lang = locale === null ? 'en-US' : `${locale[1]}-${locale[2]}`;
  const ssml =
    `<speak version='1.0' xmlns='http://www.w3.org/2001/10/synthesis' xml:lang='${lang}'>` +
    `<voice name='${ssmlText(longVoiceName(voice))}'>` +
    `<prosody pitch='${prosody.pitch}' rate='${prosody.rate}' volume='${prosody.volume}'>${ssmlText(text)}</prosody>` +
    `</voice></speak>`;
  // The trailing "Z" after a Date.toString() timestamp is what Edge sends (a bug kept for fidelity).
  return `X-RequestId:${requestId}\r\nContent-Type:application/ssml+xml\r\nX-Timestamp:${edgeTimestamp(nowMs)}Z\r\nPath:ssml\r\n\r\n${ssml}`;
}

/** Header lines (`Key:Value`, CRLF-separated) → lower-cased keys. */
function parseHeaders(block: string): Map<string, string> {
  const headers = new Map<string, string>();
  for (const line of block.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return headers;
}

/** The `Path` of a text message (`turn.end`, …), or undefined when it has none. */
export function textMessagePath(message: string): string | undefined {
  const end = message.indexOf('\r\n\r\n');
  return parseHeaders(end === -1 ? message : message.slice(0, end)).get('path');
}

export interface BinaryMessage {
  readonly path: string | undefined;
  readonly body: Buffer;
}

/** A binary message's path and body; undefined when it is too short for its own header. */
export function parseBinaryMessage(frame: Buffer): BinaryMessage | undefined {
  if (frame.length < 2) return undefined;
  const headerLength = frame.readUInt16BE(0);
  if (2 + headerLength > frame.length) return undefined;
  const headers = parseHeaders(frame.subarray(2, 2 + headerLength).toString('utf8'));
  return { path: headers.get('path'), body: frame.subarray(2 + headerLength) };
}
