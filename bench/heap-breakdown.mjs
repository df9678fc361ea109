/**
 * `npm run bench:heap` (after `npm run build`): where the idle server's memory goes. Runs the compiled server (dist/) in
 * this process with the shipped config (loopback ports, SQLite in a temporary folder, no model),
 * measuring RSS and the V8 heap after each start-up stage, then after one welcome, then idle.
 * Prints; never asserts. Run with `node --expose-gc` (the script does) so that figures are taken
 * after a full GC and show what is held, not garbage not yet collected. Plain JavaScript, so that
 * no TypeScript loader sits in the figures.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getHeapSpaceStatistics } from 'node:v8';

const DIST = new URL('../dist/', import.meta.url);
/** `NEXY_BENCH_ENGINE=wasm`: measure with the embedded eSpeak build; absent, the shipped `auto`. */
const ENGINE = process.env.NEXY_BENCH_ENGINE || undefined;
const gc = globalThis.gc ?? (() => undefined);
const mb = (bytes) => (bytes / 1048576).toFixed(1).padStart(6);

const samples = [];
function sample(label) {
  gc();
  samples.push({ label, usage: process.memoryUsage() });
}

sample('node, nothing loaded');
const { loadConfig } = await import(new URL('config/load.js', DIST).href);
const dir = mkdtempSync(join(tmpdir(), 'nexy-heap-'));
const config = loadConfig({
  env: {},
  overrides: {
    grpc: { host: '127.0.0.1', port: 0 },
    http: { host: '127.0.0.1', port: 0 },
    logging: { level: 'silent' },
    memory_management: { sqlite: { path: join(dir, 'nexy.sqlite') } },
    ...(ENGINE === undefined ? {} : { audio_generation: { espeak: { engine: ENGINE } } }),
  },
});
sample('config loaded (yaml, zod)');
const { startServer } = await import(new URL('server.js', DIST).href);
sample('server module graph imported');
const server = await startServer(config);
sample('ports open (graph built, SQLite open)');
await server.ready;
sample('ready (eSpeak loaded and warm, greeting cached)');
const { credentials } = await import('@grpc/grpc-js');
const { StreamingServiceClient } = await import(new URL('gen/streaming.js', DIST).href);
const client = new StreamingServiceClient(`127.0.0.1:${server.grpcPort}`, credentials.createInsecure());
await new Promise((resolve, reject) => {
  const call = client.generateWelcomeAudio({ text: '', sessionId: '', voice: '', language: '' });
  call.on('data', () => undefined);
  call.on('end', resolve);
  call.on('error', reject);
});
client.close();
sample('after one welcome (client included)');
await new Promise((r) => setTimeout(r, 3000));
sample('idle 3 s later');

const rows = samples.map((s, i) => {
  const prev = samples[i - 1]?.usage;
  const d = (k) => (prev === undefined ? '' : ` (${s.usage[k] - prev[k] >= 0 ? '+' : ''}${((s.usage[k] - prev[k]) / 1048576).toFixed(1)})`);
  return `${s.label.padEnd(50)} rss ${mb(s.usage.rss)}${d('rss').padEnd(9)} heap ${mb(s.usage.heapUsed)}${d('heapUsed').padEnd(9)} external ${mb(s.usage.external)}  arrayBuffers ${mb(s.usage.arrayBuffers)}`;
});
process.stdout.write(`memory by start-up stage, MB (after a full GC; change from the line before)\n${rows.join('\n')}\n\n`);
process.stdout.write('V8 heap spaces, MB (used / committed)\n');
for (const space of getHeapSpaceStatistics()) {
  process.stdout.write(`  ${space.space_name.padEnd(26)} ${mb(space.space_used_size)} / ${mb(space.space_size)}\n`);
}
await server.shutdown();
rmSync(dir, { recursive: true, force: true });
