/**
 * A local fake of Microsoft Edge's read-aloud speech service, for tests: a `ws` WebSocketServer
 * speaking the service's framing. It takes the client's `speech.config` and `ssml` text
 * messages, answers with `turn.start` and `response` text messages, binary audio messages
 * (2-byte big-endian header length, header lines with `Path:audio`, then raw 16-bit mono PCM),
 * an empty closing audio message and `turn.end`. It records each connection (query, headers,
 * messages, voice and text) and how it ended, and can refuse the handshake with an HTTP status,
 * hang, or drop the connection mid-stream.
 *
 * ```ts
 * const fake = await startFakeEdge();
 * // EdgeTts with baseUrl: fake.url
 * assert.equal(fake.connections[0].ssml?.voice, 'Microsoft Server Speech Text to Speech Voice (en-US, AriaNeural)');
 * await fake.waitForClose(); // the client closed the socket before turn.end
 * ```
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, STATUS_CODES } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { WebSocketServer, type WebSocket } from 'ws';
import { ExchangeLog, withEnding, type Ending, type ExchangeOutcome } from './recording-http.js';

export interface FakeEdgeScript {
  /** Audio sent. Default: a 0.5 s 440 Hz tone at 24 kHz (the `raw-24khz-16bit-mono-pcm` format). */
  readonly audio?: Int16Array;
  /** Audio bytes per binary message; odd sizes split samples across messages. Default 4096. */
  readonly frameBytes?: number;
  readonly frameDelayMs?: number;
  /** Refuse the WebSocket handshake with this HTTP status. */
  readonly refuseStatus?: number;
  /** Never answer the handshake. */
  readonly hangHandshake?: boolean;
  /** Accept and read the request, then send nothing. */
  readonly hangBeforeAudio?: boolean;
  /** Send this many audio messages, then hang. */
  readonly hangAfterFrames?: number;
  /** Send this many audio messages, then destroy the TCP connection. */
  readonly dropAfterFrames?: number;
  /** Send this many audio messages, then close the WebSocket cleanly without `turn.end`. */
  readonly closeAfterFrames?: number;
}

export type FakeEdgeOutcome = ExchangeOutcome;

export interface FakeEdgeSsml {
  readonly lang: string | undefined;
  readonly voice: string | undefined;
  readonly rate: string | undefined;
  readonly pitch: string | undefined;
  readonly volume: string | undefined;
  /** The spoken text, XML entities decoded. */
  readonly text: string | undefined;
}

export interface FakeEdgeConnection {
  /** `accepted`, or what the script made of the handshake. */
  readonly handshake: 'accepted' | 'refused' | 'hung';
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  /** Every text message received, in order. */
  readonly textMessages: readonly string[];
  /** `outputFormat` of the `speech.config` message. */
  readonly outputFormat: string | undefined;
  readonly ssml: FakeEdgeSsml | undefined;
  readonly outcome: FakeEdgeOutcome | undefined;
  readonly ended: Promise<FakeEdgeOutcome>;
}

export interface FakeEdge {
  /** Base URL for the provider: `ws://127.0.0.1:PORT/consumer/speech/synthesize/readaloud/edge/v1`. */
  readonly url: string;
  readonly connections: readonly FakeEdgeConnection[];
  script(script: FakeEdgeScript): void;
  enqueue(script: FakeEdgeScript): void;
  /** Resolves with connection `index` once its `ssml` message arrived (or its handshake, when refused or hung). */
  waitForConnection(index?: number): Promise<FakeEdgeConnection>;
  /** Resolves when connection `index` (default: the latest) was closed by the client before `turn.end`. */
  waitForClose(index?: number): Promise<void>;
  close(): Promise<void>;
}

export const FAKE_EDGE_RATE = 24000;
const PATH = '/consumer/speech/synthesize/readaloud/edge/v1';
const DEFAULT_FRAME_BYTES = 4096;

export function fakeEdgeAudio(seconds = 0.5, rate = FAKE_EDGE_RATE): Int16Array {
  return Int16Array.from({ length: Math.round(seconds * rate) }, (_, i) => Math.round(9000 * Math.sin((2 * Math.PI * 440 * i) / rate)));
}

interface MutableConnection extends Ending {
  handshake: 'accepted' | 'refused' | 'hung';
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  textMessages: string[];
  outputFormat: string | undefined;
  ssml: FakeEdgeSsml | undefined;
}

function headersOf(message: string): Map<string, string> {
  const out = new Map<string, string>();
  const end = message.indexOf('\r\n\r\n');
  for (const line of (end === -1 ? message : message.slice(0, end)).split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) out.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1));
  }
  return out;
}

function bodyOf(message: string): string {
  const end = message.indexOf('\r\n\r\n');
  return end === -1 ? '' : message.slice(end + 4);
}

const decodeXml = (s: string): string =>
  s.replace(/&(amp|lt|gt|quot|apos);/gu, (_, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" })[e]!);

function parseSsml(ssml: string): FakeEdgeSsml {
  const attr = (pattern: RegExp): string | undefined => {
    const m = pattern.exec(ssml);
    return m?.[1] === undefined ? undefined : decodeXml(m[1]);
  };
  return {
    lang: attr(/xml:lang='([^']*)'/u),
    voice: attr(/<voice name='([^']*)'>/u),
    pitch: attr(/<prosody[^>]* pitch='([^']*)'/u),
    rate: attr(/<prosody[^>]* rate='([^']*)'/u),
    volume: attr(/<prosody[^>]* volume='([^']*)'/u),
    text: attr(/<prosody[^>]*>([\s\S]*)<\/prosody>/u),
  };
}

function textMessage(requestId: string, path: string, body: string): string {
  return `X-RequestId:${requestId}\r\nContent-Type:application/json; charset=utf-8\r\nPath:${path}\r\n\r\n${body}`;
}

function audioMessage(requestId: string, audio: Uint8Array): Buffer {
  const contentType = audio.length > 0 ? 'Content-Type:audio/x-wav\r\n' : '';
  const header = Buffer.from(`X-RequestId:${requestId}\r\n${contentType}X-StreamId:1\r\nPath:audio\r\n`, 'utf8');
  const length = Buffer.alloc(2);
  length.writeUInt16BE(header.length);
  return Buffer.concat([length, header, audio]);
}

export async function startFakeEdge(initial: FakeEdgeScript = {}): Promise<FakeEdge> {
  // A connection counts as arrived once its `ssml` message is in (or its handshake, when refused or hung).
  const log = new ExchangeLog<FakeEdgeScript, MutableConnection>(
    initial,
    (c) => c.handshake !== 'accepted' || c.ssml !== undefined || c.outcome !== undefined,
  );
  const wake = (): void => log.wake();
  const sockets = new Set<Duplex>();

  const http = createServer((_req, res) => res.writeHead(426).end());
  http.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const wss = new WebSocketServer({ noServer: true });

  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'ws://fake');
    const script = log.next();
    const refused = script.refuseStatus !== undefined || url.pathname !== PATH;
    const { record, finish } = withEnding({
      handshake: script.hangHandshake ? 'hung' : refused ? 'refused' : ('accepted' as MutableConnection['handshake']),
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      textMessages: [] as string[],
      outputFormat: undefined as string | undefined,
      ssml: undefined as FakeEdgeSsml | undefined,
    });
    log.push(record);
    if (record.handshake !== 'accepted') {
      // After 'upgrade' the HTTP server no longer watches the socket, and it allows half-open
      // sockets: the client's FIN arrives as 'end' and nothing closes our side but us.
      socket.on('end', () => socket.destroy());
      socket.on('close', () => finish('client-closed'));
      if (script.hangHandshake) return;
      const status = url.pathname !== PATH ? 404 : script.refuseStatus!;
      socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      finish('completed');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => serve(ws, record, script, finish, wake));
  });

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = http.address() as AddressInfo;

  return {
    url: `ws://127.0.0.1:${port}${PATH}`,
    get connections() {
      return log.records;
    },
    script: (script) => log.script(script),
    enqueue: (script) => log.enqueue(script),
    waitForConnection: (index) => log.waitFor(index),
    waitForClose: (index) => log.waitForClose(index),
    async close() {
      for (const client of wss.clients) client.terminate();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

function serve(ws: WebSocket, record: MutableConnection, script: FakeEdgeScript, finish: (o: FakeEdgeOutcome) => void, wake: () => void): void {
  const gone = new AbortController();
  let dropping = false;
  let turnEnded = false;
  ws.on('close', () => {
    gone.abort();
    finish(dropping ? 'server-dropped' : turnEnded ? 'completed' : 'client-closed');
  });
  ws.on('error', () => undefined);
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (isBinary) return;
    const message = data.toString('utf8');
    record.textMessages.push(message);
    const path = headersOf(message).get('path');
    if (path === 'speech.config') {
      const config = JSON.parse(bodyOf(message).trim()) as { context?: { synthesis?: { audio?: { outputFormat?: string } } } };
      record.outputFormat = config.context?.synthesis?.audio?.outputFormat;
    } else if (path === 'ssml') {
      record.ssml = parseSsml(bodyOf(message));
      wake();
      const requestId = headersOf(message).get('x-requestid') ?? randomUUID().replaceAll('-', '');
      respond(ws, requestId, script, gone.signal, () => (dropping = true), () => (turnEnded = true)).catch(() => ws.terminate());
    }
  });
}

async function respond(
  ws: WebSocket,
  requestId: string,
  script: FakeEdgeScript,
  signal: AbortSignal,
  markDropping: () => void,
  markEnded: () => void,
): Promise<void> {
  if (script.hangBeforeAudio) return;
  const send = (data: string | Buffer): Promise<void> =>
    new Promise((resolve, reject) => ws.send(data, { binary: typeof data !== 'string' }, (error) => (error ? reject(error) : resolve())));
  await send(textMessage(requestId, 'turn.start', '{"context":{"serviceTag":"fake"}}'));
  await send(textMessage(requestId, 'response', '{"context":{"serviceTag":"fake"},"audio":{"type":"inline","streamId":"1"}}'));
  const audio = script.audio ?? fakeEdgeAudio();
  const bytes = new Uint8Array(audio.buffer, audio.byteOffset, audio.byteLength);
  const size = script.frameBytes ?? DEFAULT_FRAME_BYTES;
  let index = 0;
  for (let offset = 0; offset < bytes.length; offset += size, index++) {
    if (script.hangAfterFrames === index) return;
    if (script.dropAfterFrames === index) return void (markDropping(), ws.terminate());
    if (script.closeAfterFrames === index) return void (markDropping(), ws.close(1000));
    if (index > 0 && script.frameDelayMs) await delay(script.frameDelayMs, undefined, { signal });
    await send(audioMessage(requestId, bytes.subarray(offset, offset + size)));
  }
  if (script.hangAfterFrames !== undefined && script.hangAfterFrames >= index) return;
  if (script.dropAfterFrames !== undefined && script.dropAfterFrames >= index) return void (markDropping(), ws.terminate());
  if (script.closeAfterFrames !== undefined && script.closeAfterFrames >= index) return void (markDropping(), ws.close(1000));
  await send(audioMessage(requestId, new Uint8Array(0)));
  markEnded();
  await send(textMessage(requestId, 'turn.end', '{}'));
}
