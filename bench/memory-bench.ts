import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { loadConfig } from '../src/config/load.js';
import type { Config } from '../src/config/schema.js';
import { createMemoryStore } from '../src/memory/create-memory-store.js';
import type { MemoryBackend } from '../src/memory/store.js';

type MemorySection = Config['memory_management'];

/** One backend's memory-fetch latency. */
export interface MemoryBenchResult {
  readonly backend: string;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

// The figure the issue asks for: context() with 10,000 stored turns.
const STORED_TURNS = 10_000;
const HARDWARE_IDS = 100;
const WARMUP_CALLS = 50;
const MEASURED_CALLS = 500;
// PostgreSQL of this machine; NEXY_BENCH_PG_URL points elsewhere.
const PG_URL = process.env.NEXY_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const PG_PROBE_TIMEOUT_MS = 2000;
const REPLY = 'This is a stored assistant reply of ordinary length, one or two spoken sentences. ';

/**
 * Fills each backend with 10,000 turns over 100 hardware ids and measures `context()` with the
 * shipped budget. Each run uses a fresh SQLite file / PostgreSQL schema and removes it after.
 * PostgreSQL is left out of the result (with a note on stderr) when no server answers.
 */
export async function benchMemory(): Promise<MemoryBenchResult[]> {
  const base = loadConfig({ env: {} }).memory_management;
  const results: MemoryBenchResult[] = [];

  const dir = mkdtempSync(join(tmpdir(), 'nexy-memory-bench-'));
  try {
    results.push(await benchOne({ ...base, backend: 'sqlite', sqlite: { ...base.sqlite, path: join(dir, 'bench.sqlite') } }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const problem = await pgQuery('select 1').then(() => undefined, (e: unknown) => (e instanceof Error ? e.message || e.name : String(e)));
  if (problem !== undefined) {
    process.stderr.write(`memory bench: PostgreSQL skipped, no server at ${PG_URL} (${problem})\n`);
    return results;
  }
  const schema = `nexy_bench_${process.pid}_${randomBytes(4).toString('hex')}`;
  try {
    results.push(await benchOne({ ...base, backend: 'postgres', postgres: { ...base.postgres, url: PG_URL, schema } }));
  } finally {
    await pgQuery(`drop schema if exists "${schema}" cascade`);
  }
  return results;
}

async function benchOne(section: MemorySection): Promise<MemoryBenchResult> {
  const store = await createMemoryStore(section);
  try {
    await fill(store, section.backend === 'postgres' ? section.postgres.pool_max : 1);
    const budget = { maxTurns: section.context_max_turns, maxChars: section.context_max_chars };
    for (let i = 0; i < WARMUP_CALLS; i += 1) await store.context(hardwareId(i), budget);
    const samples: number[] = [];
    for (let i = 0; i < MEASURED_CALLS; i += 1) {
      const id = hardwareId(Math.floor(Math.random() * HARDWARE_IDS));
      const start = performance.now();
      await store.context(id, budget);
      samples.push(performance.now() - start);
    }
    samples.sort((a, b) => a - b);
    return { backend: section.backend, p50Ms: round(percentile(samples, 0.5)), p99Ms: round(percentile(samples, 0.99)) };
  } finally {
    await store.close();
  }
}

/** Writes through the real saveTurn path, `concurrency` at a time (a pool can take several). */
async function fill(store: MemoryBackend, concurrency: number): Promise<void> {
  const start = Date.now() - STORED_TURNS * 1000;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < STORED_TURNS) {
      const n = next++;
      const at = new Date(start + n * 1000);
      await store.saveTurn({
        hardwareId: hardwareId(n % HARDWARE_IDS),
        sessionId: `bench-session-${Math.floor(n / 10)}`,
        userText: `Question number ${n}: what is the weather like today in the city?`,
        assistantText: REPLY.repeat(1 + (n % 3)),
        interrupted: n % 7 === 0,
        startedAt: at,
        endedAt: new Date(at.getTime() + 500),
        provider: 'bench',
        inputTokens: 100,
        outputTokens: 40,
      });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

function hardwareId(i: number): string {
  return `BENCH-${String(i).padStart(4, '0')}-0000-4000-8000-000000000000`;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

async function pgQuery(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: PG_PROBE_TIMEOUT_MS });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}
