// `npm run fuzz`: a real server process against generated requests over all four RPCs (valid-ish,
// mutated, raw bytes) and the HTTP routes. Prints statuses, crashes, INTERNAL/UNKNOWN counts and
// the server's log bytes per invalid request; exits 1 unless: 0 crashes, 0 INTERNAL or UNKNOWN,
// at most 300 log bytes per invalid request (and per bad-request line).
//
//   npm run fuzz -- [--requests 100000] [--concurrency 32] [--seed 1] [--max-seconds 1800]
//
// Targets 127.0.0.1 only; bounded in count and time; the server is stopped at the end.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { Client, credentials, status, type ServiceError } from '@grpc/grpc-js';
import sharp from 'sharp';
import { InterruptRequest, RequestPhase, StreamRequest, UsageRequest, WelcomeRequest } from '../src/gen/streaming.js';

const { values: args } = parseArgs({
  options: {
    requests: { type: 'string', default: '100000' },
    concurrency: { type: 'string', default: '32' },
    seed: { type: 'string', default: '1' },
    'max-seconds': { type: 'string', default: '1800' },
  },
});
const TOTAL = Number(args.requests);
const CONCURRENCY = Number(args.concurrency);
const MAX_MS = Number(args['max-seconds']) * 1000;
const LOG_BUDGET_BYTES = 300;
const CALL_DEADLINE_MS = 30_000;

// ---- a seeded generator (mulberry32): the same seed gives the same requests -------------------
let state = Number(args.seed) >>> 0;
function random(): number {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (max: number) => Math.floor(random() * max);
const pick = <T>(items: readonly T[]): T => items[int(items.length)];
const chance = (p: number) => random() < p;
function randomBytes(max: number): Buffer {
  const out = Buffer.alloc(int(max + 1));
  for (let i = 0; i < out.length; i++) out[i] = int(256);
  return out;
}
function randomText(max: number): string {
  const alphabets = ['abc xyz', 'привет мир', '你好', '😀🎉', '.,!?-', '\u0000\u0001\u0007\u001b', '\uFFFD', '\uD800', 'A-Z0-9._:'];
  let out = '';
  const n = int(max + 1);
  for (let i = 0; i < n; i++) out += pick([...pick(alphabets)]);
  return out;
}

/** Bytes mutated the ways a broken client or network would: flips, cuts, inserts, splices. */
function mutate(bytes: Uint8Array): Buffer {
  const out = [...bytes];
  for (let k = 1 + int(4); k > 0; k--) {
    const at = int(out.length + 1);
    switch (int(5)) {
      case 0:
        if (out.length > 0) out[at % out.length] = int(256);
        break;
      case 1:
        out.length = Math.min(out.length, at);
        break;
      case 2:
        out.splice(at, 0, ...randomBytes(8));
        break;
      case 3:
        out.splice(at, 1 + int(4));
        break;
      case 4:
        if (out.length > 0) out[at % out.length] ^= 1 << int(8);
        break;
    }
  }
  return Buffer.from(out);
}

// ---- valid-ish requests -----------------------------------------------------------------------
const HARDWARE_IDS = ['5C8E9D4A-1B2C-4D3E-8F90-A1B2C3D4E5F6', 'FUZZ-MAC-2', '', 'unknown', 'has space', 'x'.repeat(129), 'кириллица'];
const SESSION_IDS = ['', 'fuzz-1', 'fuzz-2', 'bad/id', 's'.repeat(129)];
const PROMPTS = ['hello', 'what time is it?', '', '   ', 'tell me a joke', 'x'.repeat(9000)];
let webp = '';

function streamRequest(): Uint8Array {
  const screenshot = chance(0.8) ? undefined : pick([webp, '', '%%%', Buffer.from('GIF89a').toString('base64'), 'QUJD=A==', randomText(20)]);
  const request: StreamRequest = {
    prompt: chance(0.8) ? pick(PROMPTS) : randomText(40),
    hardwareId: chance(0.9) ? pick(HARDWARE_IDS) : randomText(20),
    sessionId: chance(0.3) ? `fuzz-${int(1000)}` : pick(SESSION_IDS),
    phase: pick([RequestPhase.REQUEST_PHASE_COLLECT, RequestPhase.REQUEST_PHASE_COMMIT, RequestPhase.REQUEST_PHASE_UNSPECIFIED, int(10) as RequestPhase]),
    chunkSeq: chance(0.9) ? int(50) : -int(1000),
    screenshot,
    screenWidth: chance(0.8) ? undefined : pick([1, 1920, 0, 20000, -1]),
    screenHeight: chance(0.8) ? undefined : pick([1, 1080, 0, 20000]),
    chunkText: chance(0.7) ? undefined : chance(0.5) ? pick(PROMPTS) : randomText(30),
  };
  return StreamRequest.encode(request).finish();
}

function welcomeRequest(): Uint8Array {
  return WelcomeRequest.encode({
    // Few distinct voiceable texts: after the first, each comes from the cache.
    // Mostly texts seen before (the cache answers) or refused: a new text costs a synthesis.
    text: chance(0.95) ? pick(['', 'Hello!', 'Привет', '...', '-', '\u0001', '\uFFFD', 'x'.repeat(9000)]) : randomText(12),
    sessionId: pick(SESSION_IDS),
    voice: pick(['', 'en', 'ru', 'no-such-voice', randomText(5)]),
    language: pick(['', 'en', 'ru', 'xx', randomText(3)]),
  }).finish();
}

function interruptRequest(): Uint8Array {
  return InterruptRequest.encode({ hardwareId: chance(0.9) ? pick(HARDWARE_IDS) : randomText(20) }).finish();
}

function usageRequest(): Uint8Array {
  return UsageRequest.encode({
    hardwareId: pick(HARDWARE_IDS),
    sessionId: pick(SESSION_IDS),
    source: pick(['client', '', 'x'.repeat(200)]),
    inputTokens: pick([0, 10, -1, 2 ** 31 - 1]),
    outputTokens: pick([0, 5, -5]),
    model: pick(['m', '', randomText(10)]),
  }).finish();
}

const RPCS = [
  { name: 'StreamAudio', stream: true, weight: 45, make: streamRequest },
  { name: 'GenerateWelcomeAudio', stream: true, weight: 15, make: welcomeRequest },
  { name: 'InterruptSession', stream: false, weight: 20, make: interruptRequest },
  { name: 'ReportUsage', stream: false, weight: 20, make: usageRequest },
] as const;
const WEIGHT = RPCS.reduce((n, r) => n + r.weight, 0);
function pickRpc(): (typeof RPCS)[number] {
  let x = random() * WEIGHT;
  for (const rpc of RPCS) if ((x -= rpc.weight) < 0) return rpc;
  return RPCS[0];
}

/** Percent-encodes the UTF-8 bytes (lone surrogates included, which encodeURIComponent refuses). */
const pct = (text: string) => [...Buffer.from(text)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');

// ---- HTTP -------------------------------------------------------------------------------------
const SEGMENTS = ['', '.', '..', 'health', 'ready', 'status', 'metrics', 'admin', 'memory', 'downloads', 'appcast.xml', 'manifest.json', '%2e%2e', '%00', '%zz'];
function httpHead(): string {
  const method = pick(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'FOO']);
  const segments = Array.from({ length: int(5) }, () => (chance(0.8) ? pick(SEGMENTS) : pct(randomText(6))));
  const target = pick([`/${segments.join('/')}`, `//${segments.join('/')}`, `/${segments.join('/')}?${pct(randomText(8))}`, '*', 'http://x/health']);
  const auth = pick(['', 'authorization: Bearer fuzz-admin-token-0123456789abcdef\r\n', 'authorization: Bearer nope\r\n']);
  return `${method} ${target} HTTP/1.1\r\nhost: 127.0.0.1\r\n${auth}connection: close\r\n\r\n`;
}

function httpExchange(port: number, head: string): Promise<number> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    socket.setEncoding('latin1');
    socket.setTimeout(CALL_DEADLINE_MS, () => socket.destroy());
    socket.on('data', (d: string) => (reply += d));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(Number(/^HTTP\/1\.[01] (\d{3})/.exec(reply)?.[1] ?? 0)));
    socket.end(head, 'latin1');
  });
}

// ---- the server -------------------------------------------------------------------------------
interface ServerProcess {
  grpcPort: number;
  httpPort: number;
  exited: Promise<[number | null, NodeJS.Signals | null]>;
  stop(): void;
  alive(): boolean;
}
const log = { bytes: 0, lines: 0, badLines: 0, badBytes: 0, maxBadLine: 0, maxLine: 0, longest: '', stacks: 0, byLevel: new Map<string, number>(), errorMsgs: new Map<string, number>() };

async function startServerProcess(): Promise<ServerProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'nexy-fuzz-'));
  const config = join(dir, 'fuzz.yaml');
  writeFileSync(
    config,
    [
      'grpc: { host: 127.0.0.1, port: 0 }',
      'http: { host: 127.0.0.1, port: 0 }',
      'admin: { token: fuzz-admin-token-0123456789abcdef }',
      `memory_management: { backend: sqlite, sqlite: { path: ${join(dir, 'nexy.sqlite')} } }`,
      'text_processing: { provider: scripted, scripted: { reply: "Okay." } }',
      '',
    ].join('\n'),
  );
  const env: NodeJS.ProcessEnv = { ...process.env, OPENAI_API_KEY: '', OPENAI_BASE_URL: '', GEMINI_API_KEY: '', LOG_LEVEL: 'info' };
  delete env.NEXY_CONFIG;
  const child = spawn(process.execPath, [join(import.meta.dirname, '../bin/nexy.mjs'), 'serve', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let running = true;
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  void exited.then(() => (running = false));
  let ready: (ports: { grpc_port: number; http_port: number }) => void;
  const listening = new Promise<{ grpc_port: number; http_port: number }>((resolve) => (ready = resolve));
  const account = (line: string) => {
    const bytes = Buffer.byteLength(line) + 1;
    log.bytes += bytes;
    log.lines++;
    if (bytes > log.maxLine) {
      log.maxLine = bytes;
      log.longest = line;
    }
    if (/"stack"/.test(line)) log.stacks++;
    let entry: { level?: string; msg?: string; grpc_port?: number; http_port?: number } = {};
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      entry = { level: 'unparsed', msg: line.slice(0, 80) };
    }
    log.byLevel.set(entry.level ?? '?', (log.byLevel.get(entry.level ?? '?') ?? 0) + 1);
    if (entry.level === 'error' || entry.level === 'fatal' || entry.level === 'unparsed') {
      log.errorMsgs.set(entry.msg ?? '?', (log.errorMsgs.get(entry.msg ?? '?') ?? 0) + 1);
    }
    if (entry.msg === 'bad request') {
      log.badLines++;
      log.badBytes += bytes;
      log.maxBadLine = Math.max(log.maxBadLine, bytes);
    }
    if (entry.msg === 'server listening') ready({ grpc_port: entry.grpc_port!, http_port: entry.http_port! });
  };
  createInterface({ input: child.stdout }).on('line', account);
  createInterface({ input: child.stderr }).on('line', account);
  const ports = await Promise.race([listening, exited.then(([code]) => Promise.reject(new Error(`the server exited during start-up (${code})`)))]);
  return { grpcPort: ports.grpc_port, httpPort: ports.http_port, exited, stop: () => child.kill('SIGTERM'), alive: () => running };
}

// ---- the run ----------------------------------------------------------------------------------
type Kind = 'valid-ish' | 'mutated' | 'raw';
const counts = new Map<string, number>();
const count = (key: string) => counts.set(key, (counts.get(key) ?? 0) + 1);
let invalid = 0;
let internalOrUnknown = 0;
const internalSamples: string[] = [];

function grpcCall(client: Client, rpc: (typeof RPCS)[number], bytes: Buffer): Promise<{ code: number; details: string }> {
  const path = `/streaming.StreamingService/${rpc.name}`;
  const identity = (b: Buffer) => b;
  const deadline = Date.now() + CALL_DEADLINE_MS;
  return new Promise((resolve) => {
    if (rpc.stream) {
      const call = client.makeServerStreamRequest(path, identity, identity, bytes, { deadline });
      call.on('data', () => undefined);
      call.on('error', () => undefined);
      call.on('status', (s) => resolve({ code: s.code, details: s.details }));
    } else {
      client.makeUnaryRequest(path, identity, identity, bytes, { deadline }, (error: ServiceError | null) =>
        resolve(error ? { code: error.code, details: error.details } : { code: status.OK, details: '' }),
      );
    }
  });
}

async function main(): Promise<void> {
  webp = (await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 1, g: 2, b: 3 } } }).webp().toBuffer()).toString('base64');
  const started = Date.now();
  const server = await startServerProcess();
  stopServer = () => server.alive() && server.stop();
  const client = new Client(`127.0.0.1:${server.grpcPort}`, credentials.createInsecure(), { 'grpc.max_send_message_length': -1, 'grpc.max_receive_message_length': -1 });
  const logBytesAtStart = log.bytes;
  process.stderr.write(`fuzz: server up (grpc ${server.grpcPort}, http ${server.httpPort}); ${TOTAL} requests, concurrency ${CONCURRENCY}\n`);

  let sent = 0;
  let lastReport = Date.now();
  const worker = async () => {
    while (sent < TOTAL && server.alive() && Date.now() - started < MAX_MS) {
      sent++;
      if (chance(0.1)) {
        const code = await httpExchange(server.httpPort, httpHead());
        count(`http ${code === 0 ? 'closed' : `${Math.floor(code / 100)}xx`}`);
        if (code >= 400 && code < 500) invalid++;
        if (code >= 500) internalOrUnknown++;
        continue;
      }
      const rpc = pickRpc();
      const kind: Kind = chance(0.5) ? 'valid-ish' : chance(0.6) ? 'mutated' : 'raw';
      const bytes = kind === 'valid-ish' ? Buffer.from(rpc.make()) : kind === 'mutated' ? mutate(rpc.make()) : randomBytes(200);
      const result = await grpcCall(client, rpc, bytes);
      count(`${rpc.name} ${status[result.code] ?? result.code}`);
      count(`kind ${kind}`);
      if (result.code === status.INVALID_ARGUMENT) invalid++;
      if (result.code === status.INTERNAL || result.code === status.UNKNOWN) {
        internalOrUnknown++;
        if (internalSamples.length < 5) internalSamples.push(`${rpc.name} ${kind} ${bytes.toString('base64').slice(0, 120)}: ${result.details}`);
      }
      if (Date.now() - lastReport > 10_000) {
        lastReport = Date.now();
        process.stderr.write(`fuzz: ${sent} sent, ${Math.round((Date.now() - started) / 1000)} s\n`);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const elapsedS = (Date.now() - started) / 1000;
  const crashed = !server.alive();
  const health = crashed ? 0 : await httpExchange(server.httpPort, 'GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
  client.close();
  const runLogBytes = log.bytes - logBytesAtStart;
  server.stop();
  const [exitCode] = crashed ? await server.exited : await server.exited;

  const perInvalid = invalid > 0 ? runLogBytes / invalid : 0;
  const lines = [
    `requests: ${sent} in ${elapsedS.toFixed(1)} s (${(sent / elapsedS).toFixed(0)}/s), concurrency ${CONCURRENCY}, seed ${args.seed}`,
    `crashes: ${crashed ? 1 : 0} (server ${crashed ? 'exited during the run' : `alive, /health ${health}`}; exit code after SIGTERM ${exitCode})`,
    `INTERNAL or UNKNOWN (HTTP 5xx included): ${internalOrUnknown}`,
    `invalid requests (INVALID_ARGUMENT, HTTP 4xx): ${invalid}`,
    `server log during the run: ${runLogBytes} bytes, ${log.lines} lines; ${perInvalid.toFixed(1)} bytes per invalid request`,
    `bad-request lines: ${log.badLines} (rate-limited), largest ${log.maxBadLine} bytes; largest line of any kind ${log.maxLine} bytes; lines with a stack ${log.stacks}`,
    `log lines by level: ${[...log.byLevel].map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `longest line: ${log.longest.slice(0, 500)}`,
    ...(log.errorMsgs.size > 0 ? [`error/fatal messages: ${[...log.errorMsgs].map(([k, v]) => `${v}× ${k}`).join('; ')}`] : []),
    'statuses:',
    ...[...counts].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `  ${k}: ${v}`),
    ...internalSamples.map((s) => `INTERNAL sample: ${s}`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  const ok = !crashed && internalOrUnknown === 0 && perInvalid <= LOG_BUDGET_BYTES && log.maxBadLine <= LOG_BUDGET_BYTES && sent >= TOTAL;
  process.stdout.write(`${ok ? 'PASS' : 'FAIL'}: 0 crashes, 0 INTERNAL/UNKNOWN, ≤ ${LOG_BUDGET_BYTES} log bytes per invalid request, all ${TOTAL} requests sent\n`);
  process.exitCode = ok ? 0 : 1;
}

let stopServer: (() => void) | undefined;
process.on('exit', () => stopServer?.());
await main().catch((error: unknown) => {
  stopServer?.();
  throw error;
});
