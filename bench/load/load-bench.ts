/**
 * The load benchmark (issue #10): the whole server in this process (loopback gRPC, shipped
 * settings, SQLite memory), the devices in a child process (`load-client`). Per level, N devices
 * send a COMMIT within a second; the model streams a four-sentence reply (~18 s of speech) as
 * word pieces 10 ms apart; each device starts playing 200 ms after its first audio chunk and plays
 * in real time. Prints per level how many streams stuttered and how late, how soon audio came,
 * and what the server's CPU paid per second of audio; then the largest level that held.
 * Bounded: each level has a deadline, and the climb stops after levels that did not hold.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { createLogger } from '../../src/observability/logger.js';
import { sentenceSplitterOptions } from '../../src/pipeline/sentence-splitter.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { SentenceEndClock } from '../sentence-end-clock.js';
import type { LoadJob, LoadResult, StreamReport } from './load-client.js';
import { largestHeld, percentile, shouldContinue } from './playback.js';
import { mainThreadCpuMs } from './thread-cpu.js';
import { LOAD_REPLY, WordPieceLlm } from './word-piece-llm.js';

/** Settings of a run; every one has an environment variable (see `loadSettingsFromEnv`). */
export interface LoadSettings {
  readonly levels: readonly number[];
  readonly bufferMs: number;
  readonly spreadMs: number;
  readonly pieceDelayMs: number;
  readonly levelTimeoutMs: number;
  /** Stop climbing after this many levels in a row did not hold; 0: run every level. */
  readonly stopAfter: number;
}

function numbers(value: string | undefined, fallback: readonly number[]): number[] {
  if (value === undefined || value.trim() === '') return [...fallback];
  const parsed = value.split(',').map((v) => Number(v.trim()));
  if (parsed.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`NEXY_LOAD_LEVELS: "${value}" is not a list of positive integers`);
  return parsed;
}

function number(name: string, fallback: number, env: NodeJS.ProcessEnv): number {
  const value = env[name];
  if (value === undefined || value.trim() === '') return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0) throw new Error(`${name}: "${value}" is not a non-negative number`);
  return parsed;
}

/** The issue's scenario, each figure overridable from the environment. */
export function loadSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): LoadSettings {
  return {
    levels: numbers(env.NEXY_LOAD_LEVELS, [10, 25, 50, 100, 200, 400]),
    bufferMs: number('NEXY_LOAD_BUFFER_MS', 200, env),
    spreadMs: number('NEXY_LOAD_SPREAD_MS', 1000, env),
    pieceDelayMs: number('NEXY_LOAD_PIECE_DELAY_MS', 10, env),
    levelTimeoutMs: number('NEXY_LOAD_LEVEL_TIMEOUT_MS', 120_000, env),
    stopAfter: number('NEXY_LOAD_STOP_AFTER', 2, env),
  };
}

/** One level's figures. Times in milliseconds. */
export interface LevelRow {
  readonly level: number;
  /** Streams that stuttered, failed or were cut off at the deadline. */
  readonly stuttering: number;
  /** Streams that ended with an error status (RESOURCE_EXHAUSTED…). */
  readonly failed: number;
  /** Streams still open at the level's deadline, cancelled by the client. */
  readonly cutOff: number;
  readonly worstLatenessMs: number;
  readonly stallMsTotal: number;
  readonly firstAudio: { readonly p50: number; readonly p99: number };
  /** First text_chunk seen by the client → first audio chunk seen by the client. */
  readonly textToAudio: { readonly p50: number; readonly p99: number };
  /** The model yields the end of the first segment (server) → first audio chunk at the client. */
  readonly segmentToAudio: { readonly p50: number; readonly p99: number };
  /** COMMIT sent → the server's model request: turn set-up under load, gRPC in included. */
  readonly commitToModel: { readonly p50: number; readonly p99: number };
  readonly audioSeconds: number;
  readonly cpuMsPerAudioSecond: number;
  /** The part of it on the main thread (the event loop); NaN where it cannot be read. */
  readonly mainCpuMsPerAudioSecond: number;
  /** Server CPU time over the level's wall time (1.0 = one core busy all along). */
  readonly cpuCores: number;
  readonly wallSeconds: number;
}

function quantiles(samples: readonly number[]): { p50: number; p99: number } {
  return { p50: percentile(samples, 0.5), p99: percentile(samples, 0.99) };
}

/** The level's figures from the client's reports, the server's notes and its CPU time. */
export function levelRow(
  level: number,
  streams: readonly StreamReport[],
  notes: { readonly firstSegmentAt: ReadonlyMap<string, number>; readonly requestedAt: ReadonlyMap<string, number> },
  cpuMs: number,
  wallMs: number,
  mainThreadCpuMs = Number.NaN,
): LevelRow {
  const failed = streams.filter((s) => s.code > 0).length;
  const cutOff = streams.filter((s) => s.code === -1).length;
  const stuttering = streams.filter((s) => s.code !== 0 || s.lateChunks > 0).length;
  // Every stream that got audio, those cut off at the deadline included: what they heard was real.
  const ok = streams.filter((s) => s.code <= 0 && !Number.isNaN(s.firstAudioAt));
  const segmentToAudio = ok.flatMap((s) => {
    const at = notes.firstSegmentAt.get(s.prompt);
    return at === undefined ? [] : [s.firstAudioAt - at];
  });
  const commitToModel = streams.flatMap((s) => {
    const at = notes.requestedAt.get(s.prompt);
    return at === undefined ? [] : [at - s.sentAt];
  });
  const audioSeconds = streams.reduce((sum, s) => sum + s.audioMs, 0) / 1000;
  return {
    level,
    stuttering,
    failed,
    cutOff,
    worstLatenessMs: ok.reduce((worst, s) => (Number.isNaN(s.worstLatenessMs) ? worst : Math.max(worst, s.worstLatenessMs)), -Infinity),
    stallMsTotal: streams.reduce((sum, s) => sum + s.stallMs, 0),
    firstAudio: quantiles(ok.map((s) => s.firstAudioAt - s.sentAt)),
    textToAudio: quantiles(ok.filter((s) => !Number.isNaN(s.firstTextAt)).map((s) => s.firstAudioAt - s.firstTextAt)),
    segmentToAudio: quantiles(segmentToAudio),
    commitToModel: quantiles(commitToModel),
    audioSeconds,
    cpuMsPerAudioSecond: audioSeconds > 0 ? cpuMs / audioSeconds : Number.NaN,
    mainCpuMsPerAudioSecond: audioSeconds > 0 ? mainThreadCpuMs / audioSeconds : Number.NaN,
    cpuCores: cpuMs / wallMs,
    wallSeconds: wallMs / 1000,
  };
}

/** The client process; `.ts` under tsx, `.js` once compiled, like this module. */
class LoadClient {
  readonly #child: ChildProcess;
  #pending: ((result: LoadResult) => void) | undefined;

  constructor() {
    const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
    this.#child = fork(new URL(`./load-client${ext}`, import.meta.url), [], { execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.#child.on('message', (result: LoadResult) => this.#pending?.(result));
    this.#child.on('exit', (code) => this.#pending?.({ kind: 'error', message: `the load client exited (${code})` }));
  }

  async run(job: Extract<LoadJob, { kind: 'run' }>): Promise<StreamReport[]> {
    const result = await new Promise<LoadResult>((resolve) => {
      this.#pending = resolve;
      this.#child.send(job);
    });
    this.#pending = undefined;
    if (result.kind === 'error') throw new Error(`load client: ${result.message}`);
    return result.streams;
  }

  async close(): Promise<void> {
    if (this.#child.exitCode !== null || !this.#child.connected) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    this.#child.send({ kind: 'close' } satisfies LoadJob);
    await Promise.race([exited, sleep(5000).then(() => this.#child.kill())]);
  }
}

/** The server as shipped, on loopback with ephemeral ports and quiet logs; NEXY_CONFIG is honoured. */
function benchConfig(dir: string, maxLevel: number): Config {
  return loadConfig({
    env: process.env,
    overrides: {
      grpc: { host: '127.0.0.1', port: 0, max_active_turns: Math.max(256, maxLevel) },
      http: { host: '127.0.0.1', port: 0 },
      logging: { level: 'silent' },
      memory_management: { backend: 'sqlite', sqlite: { path: join(dir, 'nexy.sqlite') } },
      // Every device connects from 127.0.0.1: the per-peer rate limits would refuse them as one
      // client after a few levels (the bench measures speech capacity, not the limits).
      limits: { enabled: false },
    },
  });
}

async function idle(server: RunningServer, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (server.service.activeTurns > 0 && Date.now() < until) await sleep(50);
  await server.service.drain();
}

const ms = (v: number): string => (Number.isFinite(v) ? `${v >= 0 && v < 10 ? v.toFixed(1) : Math.round(v).toLocaleString('en-US')} ms` : 'n/a');
const signedMs = (v: number): string => (Number.isFinite(v) ? `${v > 0 ? '+' : v < 0 ? '−' : ''}${ms(Math.abs(v))}` : 'n/a');
const pair = (q: { p50: number; p99: number }): string => `${ms(q.p50)} / ${ms(q.p99)}`;

/** The table of `rows` as printed (also used by `npm run bench`). */
export function formatLoadTable(rows: readonly LevelRow[]): string {
  const header = [
    'streams',
    'stuttering',
    'worst lateness',
    'first audio p50 / p99',
    'text_chunk → audio p50 / p99',
    'model segment → audio p50 / p99',
    'COMMIT → model request p50 / p99',
    'server CPU per s of audio',
    'of it main thread',
    'CPU (cores)',
    'audio',
    'wall',
  ];
  const body = rows.map((r) => [
    String(r.level),
    `${r.stuttering}${r.failed > 0 ? ` (${r.failed} failed)` : ''}${r.cutOff > 0 ? ` (${r.cutOff} cut off at the deadline)` : ''}`,
    signedMs(r.worstLatenessMs),
    pair(r.firstAudio),
    pair(r.textToAudio),
    pair(r.segmentToAudio),
    pair(r.commitToModel),
    ms(r.cpuMsPerAudioSecond),
    ms(r.mainCpuMsPerAudioSecond),
    r.cpuCores.toFixed(2),
    `${r.audioSeconds.toFixed(r.audioSeconds < 100 ? 1 : 0)} s`,
    `${r.wallSeconds.toFixed(1)} s`,
  ]);
  const all = [header, ...body];
  const widths = header.map((_, c) => Math.max(...all.map((row) => row[c].length)));
  const line = (row: readonly string[]) => row.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** Runs the levels, printing each row as it completes; returns the rows. */
export async function runLoadBench(settings: LoadSettings, out: (text: string) => void = (t) => process.stdout.write(t)): Promise<LevelRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'nexy-load-'));
  const config = benchConfig(dir, Math.max(...settings.levels));
  const llm = new SentenceEndClock(new WordPieceLlm(LOAD_REPLY, settings.pieceDelayMs), sentenceSplitterOptions(config.pipeline));
  const server = await startServer(config, { logger: createLogger('silent'), llm });
  const client = new LoadClient();
  const address = `127.0.0.1:${server.grpcPort}`;
  const rows: LevelRow[] = [];
  out(
    `load bench: node ${process.version}, ${cpus().length} cores; levels ${settings.levels.join(', ')}; COMMITs within ${settings.spreadMs} ms; ` +
      `model pieces ${settings.pieceDelayMs} ms apart; playback ${settings.bufferMs} ms after the first chunk; ` +
      `tts ${config.audio_generation.provider}; level deadline ${settings.levelTimeoutMs / 1000} s\n`,
  );
  try {
    // Warm-up (not reported): the first turns pay for JIT compilation and SQLite's first statements.
    await client.run({ kind: 'run', address, level: 2, runId: 'warm', spreadMs: 0, bufferMs: settings.bufferMs, timeoutMs: settings.levelTimeoutMs });
    await idle(server, 10_000);
    let printedHeader = false;
    for (const level of settings.levels) {
      if (!shouldContinue(rows, settings.stopAfter)) {
        out(`(stopped: ${settings.stopAfter} level(s) in a row did not hold; NEXY_LOAD_STOP_AFTER=0 runs every level)\n`);
        break;
      }
      llm.clear();
      const cpu = process.cpuUsage();
      const mainCpu = mainThreadCpuMs();
      const started = performance.now();
      const streams = await client.run({
        kind: 'run',
        address,
        level,
        runId: `l${level}`,
        spreadMs: settings.spreadMs,
        bufferMs: settings.bufferMs,
        timeoutMs: settings.levelTimeoutMs,
      });
      const wallMs = performance.now() - started;
      const used = process.cpuUsage(cpu);
      const row = levelRow(level, streams, llm, (used.user + used.system) / 1000, wallMs, mainThreadCpuMs() - mainCpu);
      rows.push(row);
      const table = formatLoadTable([row]).split('\n');
      out(`${printedHeader ? table[2] : table.join('\n')}\n`);
      printedHeader = true;
      await idle(server, 30_000);
      await sleep(500);
    }
    const held = largestHeld(rows);
    out(`largest level that held (no stuttering stream): ${held === 0 ? 'none' : held}\n`);
    return rows;
  } finally {
    await client.close();
    await server.shutdown();
    rmSync(dir, { recursive: true, force: true });
  }
}
