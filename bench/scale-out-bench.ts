/**
 * Scale-out figures: COLLECT calls/s with 50 in flight and COMMIT set-up time, on one instance
 * with the in-memory session backend and on two instances sharing Redis (COLLECTs spread over
 * both, each COMMIT on the other instance than its COLLECT). Real `nexy serve` processes, the
 * same client, the same run. Needs Redis at REDIS_URL (default 127.0.0.1:6379); skipped without.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { credentials, type ClientReadableStream } from '@grpc/grpc-js';
import { Redis } from 'ioredis';
import { RequestPhase, StreamingServiceClient, type StreamResponse } from '../src/gen/streaming.js';
import { redisAnswers } from '../test/support/redis.js';

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../bin/nexy.mjs');
const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const IN_FLIGHT = 50;
const COLLECT_SECONDS = Number(process.env.NEXY_BENCH_COLLECT_SECONDS ?? 4);
const COMMITS = Number(process.env.NEXY_BENCH_COMMITS ?? 40);
const HARDWARE_ID = 'B3NCH000-0000-4000-8000-000000000001';

interface Instance {
  readonly client: StreamingServiceClient;
  readonly child: ChildProcess;
}

/** What {@link benchScaleOut} measured, per topology. */
export interface ScaleOutFigures {
  readonly topology: string;
  readonly collectPerSecond: number;
  /** CPU the servers (and Redis) spent per COLLECT, in ms: what the rate costs, whatever the load. */
  readonly serverCpuMsPerCollect: number;
  readonly commitSetupMs: number[];
  readonly failed: number;
}

async function startInstance(sessions: string): Promise<Instance> {
  const dir = mkdtempSync(join(tmpdir(), 'nexy-bench-'));
  const path = join(dir, 'override.yaml');
  writeFileSync(
    path,
    [
      'grpc: { host: 127.0.0.1, port: 0 }',
      'http: { host: 127.0.0.1, port: 0 }',
      'logging: { level: info }',
      'text_processing: { provider: scripted, scripted: { reply: "Fine. Thanks." } }',
      'memory_management: { backend: none }',
      // One client sending as fast as it can is what the per-peer rate limits stop: off here.
      'limits: { enabled: false }',
      sessions,
    ].join('\n'),
  );
  const child = spawn(process.execPath, [BIN, 'serve', '--config', path], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolvePort, reject) => {
    let text = '';
    let found = false;
    // Read to the end (flowing), so the server never blocks on a full pipe.
    child.stdout!.on('data', (chunk: Buffer) => {
      if (found) return;
      text += chunk.toString();
      const match = /"grpc_port":(\d+)/u.exec(text);
      // Measured once the start-up warm-up is over (the ports open before it).
      if (match && text.includes('"msg":"server ready"')) {
        found = true;
        resolvePort(Number(match[1]));
      }
    });
    child.once('exit', () => reject(new Error('a bench server exited before listening')));
  });
  return { client: new StreamingServiceClient(`127.0.0.1:${port}`, credentials.createInsecure()), child };
}

function call(start: () => ClientReadableStream<StreamResponse>, onFirst?: () => void): Promise<boolean> {
  return new Promise((resolveCall) => {
    const stream = start();
    let first = true;
    stream.on('data', () => {
      if (first) onFirst?.();
      first = false;
    });
    stream.on('status', (status: { code: number }) => resolveCall(status.code === 0));
    stream.on('error', () => undefined);
  });
}

const collect = (instance: Instance, sessionId: string, seq: number, text: string) =>
  call(() =>
    instance.client.streamAudio({ prompt: '', hardwareId: HARDWARE_ID, sessionId, phase: RequestPhase.REQUEST_PHASE_COLLECT, chunkSeq: seq, chunkText: text }),
  );

const TICK_MS = 10; // USER_HZ 100 on Linux

/** CPU time (user + system) a process has used, in ms; 0 where /proc is not available. */
function cpuMs(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return 0;
  }
}

async function redisPid(): Promise<number | undefined> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 0 });
  try {
    const info = await redis.info('server');
    const match = /process_id:(\d+)/u.exec(info);
    return match ? Number(match[1]) : undefined;
  } finally {
    redis.disconnect();
  }
}

/** COLLECTs with `IN_FLIGHT` outstanding for `COLLECT_SECONDS`, round-robin over the instances. */
async function collectRate(instances: readonly Instance[]): Promise<{ perSecond: number; failed: number }> {
  const words = ['what', 'is', 'the', 'weather', 'like', 'in', 'Oslo', 'today', 'please', 'now'];
  let done = 0;
  let failed = 0;
  let next = 0;
  const started = performance.now();
  const until = started + COLLECT_SECONDS * 1000;
  const run = async (worker: number) => {
    // A session gets ten growing pieces, like a speech engine's deltas, then the next session.
    for (let n = 0; performance.now() < until; n++) {
      const ok = await collect(instances[next++ % instances.length], `bench-${worker}-${Math.floor(n / 10)}`, (n % 10) + 1, words[n % 10]);
      if (ok) done++;
      else failed++;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, (_, worker) => run(worker)));
  return { perSecond: done / ((performance.now() - started) / 1000), failed };
}

/** One COLLECT, then its COMMIT on the next instance; COMMIT sent → first reply message. */
async function commitSetup(instances: readonly Instance[]): Promise<{ samples: number[]; failed: number }> {
  const samples: number[] = [];
  let failed = 0;
  for (let i = 0; i < COMMITS; i++) {
    const sessionId = `bench-commit-${randomUUID()}`;
    await collect(instances[i % instances.length], sessionId, 1, 'what is');
    const target = instances[(i + 1) % instances.length];
    const sent = performance.now();
    let first = Number.NaN;
    const ok = await call(
      () => target.client.streamAudio({ prompt: 'the time', hardwareId: HARDWARE_ID, sessionId, phase: RequestPhase.REQUEST_PHASE_COMMIT, chunkSeq: 0 }),
      () => (first = performance.now()),
    );
    if (ok && !Number.isNaN(first)) samples.push(first - sent);
    else failed++;
  }
  return { samples, failed };
}

const median = (samples: readonly number[]): number => {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((x, y) => x - y);
  return sorted[Math.floor((sorted.length - 1) / 2)];
};

const ROUNDS = Number(process.env.NEXY_BENCH_SCALE_ROUNDS ?? 3);

/** One rate phase; the CPU its servers (and Redis) used per COLLECT. */
async function ratePhase(instances: readonly Instance[], extraPids: ReadonlyArray<number | undefined>) {
  const pids: Array<number | undefined> = [...instances.map((i) => i.child.pid), ...extraPids];
  const cpuBefore = pids.reduce((sum: number, pid) => sum + cpuMs(pid), 0);
  const started = performance.now();
  const rate = await collectRate(instances);
  const calls = (rate.perSecond * (performance.now() - started)) / 1000;
  const cpu = pids.reduce((sum: number, pid) => sum + cpuMs(pid), 0) - cpuBefore;
  return { ...rate, cpuPerCall: cpu / calls };
}

/**
 * The topologies take turns, round after round, and each figure is the median of its rounds: on
 * a machine whose load changes, neither side gets all the quiet (or busy) moments.
 */
async function measure(topologies: ReadonlyArray<{ name: string; instances: readonly Instance[]; extraPids: ReadonlyArray<number | undefined> }>) {
  for (const t of topologies) await collectRate(t.instances); // warm-up: connections, JIT, scripts loaded
  const rounds = topologies.map(() => [] as Array<Awaited<ReturnType<typeof ratePhase>>>);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, t] of topologies.entries()) rounds[i].push(await ratePhase(t.instances, t.extraPids));
  }
  const figures: ScaleOutFigures[] = [];
  for (const [i, t] of topologies.entries()) {
    const commits = await commitSetup(t.instances);
    figures.push({
      topology: t.name,
      collectPerSecond: median(rounds[i].map((r) => r.perSecond)),
      serverCpuMsPerCollect: median(rounds[i].map((r) => r.cpuPerCall)),
      commitSetupMs: commits.samples,
      failed: rounds[i].reduce((sum, r) => sum + r.failed, 0) + commits.failed,
    });
  }
  return figures;
}

/** Undefined when Redis is not reachable. */
export async function benchScaleOut(): Promise<ScaleOutFigures[] | undefined> {
  if (!(await redisAnswers(REDIS_URL))) return undefined;
  const prefix = `nexy-bench-${randomUUID()}:`;
  const redisSessions = `session_management: { backend: redis, redis: { url: "${REDIS_URL}", key_prefix: "${prefix}" } }`;
  const started: Instance[] = [];
  try {
    const [memory, a, b] = await Promise.all([
      startInstance('session_management: { backend: memory }'),
      startInstance(redisSessions),
      startInstance(redisSessions),
    ]);
    started.push(memory, a, b);
    // One topology at a time, so each has the machine to itself.
    return await measure([
      { name: '1 instance, in-memory sessions', instances: [memory], extraPids: [] },
      { name: '2 instances, Redis sessions', instances: [a, b], extraPids: [await redisPid()] },
    ]);
  } finally {
    for (const instance of started) {
      instance.client.close();
      instance.child.kill('SIGTERM');
    }
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  }
}


/** The figures as `npm run bench` prints them, the ratio against the issue's target (≥ 0.8×). */
export function formatScaleOut(figures: readonly ScaleOutFigures[] | undefined): string {
  if (figures === undefined) return `scale-out: skipped (no Redis at ${REDIS_URL})\n`;
  const [single, shared] = figures;
  const lines = [
    `scale-out (real processes, ${IN_FLIGHT} COLLECTs in flight, median of ${ROUNDS} rounds of ${COLLECT_SECONDS} s taken in turns, ${COMMITS} COMMITs each on the other instance than their COLLECT):`,
    ...figures.map(
      (f) =>
        `  ${f.topology.padEnd(32)} COLLECT ${f.collectPerSecond.toFixed(0).padStart(6)}/s  server CPU ${f.serverCpuMsPerCollect.toFixed(3)} ms/COLLECT` +
        `  COMMIT set-up p50 ${median(f.commitSetupMs).toFixed(1)} ms${f.failed > 0 ? `  (${f.failed} calls failed)` : ''}`,
    ),
    `  COLLECT rate, 2 Redis instances / 1 in-memory instance: ${(shared.collectPerSecond / single.collectPerSecond).toFixed(2)}x (target >= 0.8x)`,
  ];
  return `${lines.join('\n')}\n`;
}
