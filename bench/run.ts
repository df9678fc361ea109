/**
 * `npm run bench`: measures and prints; never asserts (timings depend on the machine). The
 * targets printed beside the figures are the issue's, for a reader to compare.
 */
import { cpus } from 'node:os';
import { SENTENCE_CASES, splitterAccuracy } from '../test/cases/sentence-cases.js';
import { benchLatency } from './latency-bench.js';
import { loadSettingsFromEnv, runLoadBench } from './load/load-bench.js';
import { benchMemory } from './memory-bench.js';
import { benchScaleOut, formatScaleOut } from './scale-out-bench.js';
import { benchTurnSetup, SETUP_STEPS } from './turn-setup-bench.js';

const TURNS = Number(process.env.NEXY_BENCH_TURNS ?? 30);
const WARMUP = Number(process.env.NEXY_BENCH_WARMUP ?? 5);
/** `npm run bench -- --load` or NEXY_BENCH_LOAD=1: the load benchmark (`npm run bench:load`) after the table. */
const LOAD = process.argv.includes('--load') || process.env.NEXY_BENCH_LOAD === '1';

function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

const ms = (value: number): string => (Number.isNaN(value) ? 'n/a' : `${value.toFixed(1)} ms`);
/** Sub-millisecond figures (the set-up steps) keep three decimals. */
const fineMs = (value: number): string => (Number.isNaN(value) ? 'n/a' : `${value.toFixed(3)} ms`);
const pct = (value: number): string => `${(value * 100).toFixed(1)} %`;

function table(rows: ReadonlyArray<readonly string[]>): string {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  const line = (row: readonly string[]) => row.map((cell, column) => cell.padEnd(widths[column])).join('  ').trimEnd();
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

async function main(): Promise<void> {
  process.stdout.write(`nexy-server bench: node ${process.version}, ${cpus().length} cores, ${TURNS} measured runs each (after ${WARMUP} warm-up)\n\n`);

  const latency = await benchLatency(TURNS, WARMUP);
  const accuracy = (lang?: string) => splitterAccuracy(lang === undefined ? SENTENCE_CASES : SENTENCE_CASES.filter((c) => c.lang === lang));
  const [en, ru, all] = [accuracy('en'), accuracy('ru'), accuracy()];
  const memory = await benchMemory();
  const setup = await benchTurnSetup(Math.max(TURNS, 200), Math.max(WARMUP, 30));

  const p50 = (samples: readonly number[]) => ms(percentile(samples, 0.5));
  const p95 = (samples: readonly number[]) => `${ms(percentile(samples, 0.95))} p95`;
  const rows: string[][] = [['figure', 'p50', 'p95 / p99', 'target']];
  for (const turn of latency.turns) {
    rows.push(
      [`${turn.label}: first segment ${JSON.stringify(turn.firstSegment)}`, '', '', ''],
      ['  COMMIT → first audio chunk', p50(turn.firstAudioMs), p95(turn.firstAudioMs), '≤ 10 ms p50'],
      ['  first segment end from the LLM → its first audio chunk', p50(turn.sentenceEndToAudioMs), p95(turn.sentenceEndToAudioMs), '≤ 15 ms p50'],
      ['  COMMIT sent → model request (gRPC in + turn set-up)', p50(turn.commitToModelMs), p95(turn.commitToModelMs), ''],
    );
  }
  rows.push(['turn set-up in the pipeline, per step (COMMIT handed over → model request)', '', '', '']);
  for (const step of SETUP_STEPS) {
    rows.push([`  ${step}`, fineMs(percentile(setup[step], 0.5)), `${fineMs(percentile(setup[step], 0.95))} p95`, step === 'total' ? '≤ 1 ms p50' : '']);
  }
  rows.push(
    ['welcome greeting (cached) → first audio chunk', p50(latency.welcomeFirstChunkMs), p95(latency.welcomeFirstChunkMs), '≤ 5 ms p50'],
    ...memory.map((m) => [`memory context fetch, 10,000 turns (${m.backend})`, ms(m.p50Ms), `${ms(m.p99Ms)} p99`, '']),
  );
  process.stdout.write(`${table(rows)}\n\n`);
  process.stdout.write(
    `${table([
      ['sentence splitter accuracy', 'correct', 'accuracy'],
      ['English', `${en.correct}/${en.total}`, pct(en.accuracy)],
      ['Russian', `${ru.correct}/${ru.total}`, pct(ru.accuracy)],
      ['all cases (EN, RU, mixed, CJK)', `${all.correct}/${all.total}`, pct(all.accuracy)],
    ])}\n`,
  );
  process.stdout.write(`\n${formatScaleOut(await benchScaleOut())}`);
  if (latency.failedCalls > 0) process.stdout.write(`\nnote: ${latency.failedCalls} call(s) did not end with status OK\n`);
  if (LOAD) {
    process.stdout.write('\n');
    await runLoadBench(loadSettingsFromEnv());
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
