/**
 * `npm run bench:startup`: the shipped server measured from outside, as an operator sees it.
 * Median of `NEXY_BENCH_STARTS` (3) runs of each figure; prints, never asserts.
 *
 * - `npm start` → the gRPC port answers a health check (any status: NOT_SERVING while the speech
 *   engine warms up is an answer).
 * - idle RSS of the server process after it is ready and has served one welcome (default text).
 * - `nexy --help`: process start to exit.
 *
 * The server runs with the shipped config except: loopback ports picked here, SQLite in a
 * temporary folder, no model keys (the degraded notice, as a fresh install), and the eSpeak build:
 * each engine of `NEXY_BENCH_ENGINES` (default `auto,wasm`) is measured in turn. `auto` is the
 * shipped setting (Debian's libespeak-ng when installed); `wasm` is what a machine without it
 * runs (`npm ci && npm start` on a fresh host): the embedded build, a larger engine per worker.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { credentials, loadPackageDefinition, type Client, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { StreamingServiceClient } from '../src/gen/streaming.js';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const RUNS = Number(process.env.NEXY_BENCH_STARTS ?? 3);
/** How long the server idles after the welcome before its RSS is read. */
const SETTLE_MS = Number(process.env.NEXY_BENCH_SETTLE_MS ?? 3000);
/** `audio_generation.espeak.engine` of each measured configuration. */
const ENGINES = (process.env.NEXY_BENCH_ENGINES ?? 'auto,wasm').split(',').map((e) => e.trim()).filter((e) => e !== '');

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

type HealthClient = Client & {
  check(req: { service: string }, options: { deadline: number }, cb: (e: ServiceError | null, r?: { status: string }) => void): void;
};

function healthClient(address: string): HealthClient {
  const healthProto = join(ROOT, 'node_modules/grpc-health-check/proto/health/v1/health.proto');
  const pkg = loadPackageDefinition(loadSync(healthProto, { enums: String })) as unknown as {
    grpc: { health: { v1: { Health: new (a: string, c: ReturnType<typeof credentials.createInsecure>, o: object) => HealthClient } } };
  };
  // A refused connection must not put the channel into grpc-js's reconnect backoff (1 s, 1.6 s,
  // ...), which would measure the backoff instead of the server.
  return new pkg.grpc.health.v1.Health(address, credentials.createInsecure(), {
    'grpc.initial_reconnect_backoff_ms': 10,
    'grpc.min_reconnect_backoff_ms': 10,
    'grpc.max_reconnect_backoff_ms': 10,
  });
}

/** Resolves with the health status once the port answers a Check (polled every 10 ms). */
async function firstHealthAnswer(client: HealthClient, child: ChildProcess): Promise<string> {
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    const answer = await new Promise<string | undefined>((r) =>
      client.check({ service: '' }, { deadline: Date.now() + 200 }, (error, reply) => r(error ? (error.code === 14 || error.code === 4 ? undefined : `error ${error.code}`) : reply!.status)),
    );
    if (answer !== undefined) return answer;
    await sleep(10);
  }
}

/** The process ids under `pid` (a process tree: npm → sh → node). */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

/**
 * CPU seconds (user + system) the process tree has used: on a machine shared with other work,
 * wall-clock start-up times mostly measure the queue for the CPU; this does not.
 */
function treeCpuSeconds(rootPid: number): number {
  let ticks = 0;
  for (const pid of [rootPid, ...descendants(rootPid)]) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime, stime, cutime, cstime: fields 14-17 of proc(5), here 11-14 after the name.
      ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    } catch {
      // gone meanwhile
    }
  }
  return ticks / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));
}

/** RSS in MB of the process running `nexy ... serve` (the server itself, not npm). */
function serverRssMb(rootPid: number): number {
  for (const pid of [rootPid, ...descendants(rootPid)]) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (!cmdline.includes('serve') || !cmdline[0]!.endsWith('node')) continue;
      const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      return Number(rss![1]) / 1024;
    } catch {
      // gone meanwhile
    }
  }
  throw new Error('server process not found');
}

async function readWelcome(address: string): Promise<number> {
  const client = new StreamingServiceClient(address, credentials.createInsecure(), { 'grpc.max_receive_message_length': -1 });
  const call = client.generateWelcomeAudio({ text: '', sessionId: '', voice: '', language: '' });
  let chunks = 0;
  call.on('data', () => chunks++);
  await once(call, 'end');
  client.close();
  return chunks;
}

async function waitReady(httpPort: number): Promise<void> {
  for (;;) {
    const status = await fetch(`http://127.0.0.1:${httpPort}/ready`).then(
      (r) => r.status,
      () => 0,
    );
    // 503 "no language model configured" is the fresh install's steady state: wait for the rest.
    if (status === 200) return;
    const body = (await fetch(`http://127.0.0.1:${httpPort}/ready`).then((r) => r.json(), () => ({}))) as { missing?: Array<{ check: string }> };
    if (status === 503 && body.missing !== undefined && body.missing.every((m) => m.check === 'llm')) return;
    await sleep(20);
  }
}

interface StartRun {
  readonly listenMs: number;
  readonly listenCpuS: number;
  readonly firstStatus: string;
  readonly readyMs: number;
  readonly rssMb: number;
}

async function oneStart(engine: string): Promise<StartRun> {
  const dir = mkdtempSync(join(tmpdir(), 'nexy-startup-'));
  const [grpcPort, httpPort] = [await freePort(), await freePort()];
  const config = join(dir, 'bench.yaml');
  writeFileSync(
    config,
    `grpc: { host: 127.0.0.1, port: ${grpcPort} }\nhttp: { host: 127.0.0.1, port: ${httpPort} }\nmemory_management: { sqlite: { path: ${dir}/nexy.sqlite } }\naudio_generation: { espeak: { engine: ${engine} } }\n`,
  );
  const env = { ...process.env, OPENAI_API_KEY: '', OPENAI_BASE_URL: '', GEMINI_API_KEY: '', LOG_LEVEL: 'warn' };
  const health = healthClient(`127.0.0.1:${grpcPort}`);
  const started = performance.now();
  const child = spawn('npm', ['start', '--silent', '--', '--config', config], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'inherit'], detached: true });
  try {
    const firstStatus = await firstHealthAnswer(health, child);
    const listenMs = performance.now() - started;
    const listenCpuS = treeCpuSeconds(child.pid!);
    await waitReady(httpPort);
    const readyMs = performance.now() - started;
    const chunks = await readWelcome(`127.0.0.1:${grpcPort}`);
    if (chunks === 0) throw new Error('the welcome had no audio');
    await sleep(SETTLE_MS);
    return { listenMs, listenCpuS, firstStatus, readyMs, rssMb: serverRssMb(child.pid!) };
  } finally {
    health.close();
    process.kill(-child.pid!, 'SIGTERM');
    if (child.exitCode === null) await once(child, 'exit');
    rmSync(dir, { recursive: true, force: true });
  }
}

function helpMs(): number {
  const started = performance.now();
  execFileSync(process.execPath, [join(ROOT, 'bin/nexy.mjs'), '--help'], { stdio: 'ignore' });
  return performance.now() - started;
}

/** `node -e 0`: the floor any command starts from on this machine, now. */
function nodeFloorMs(): number {
  const started = performance.now();
  execFileSync(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  return performance.now() - started;
}

async function main(): Promise<void> {
  const byEngine = new Map<string, StartRun[]>(ENGINES.map((engine) => [engine, []]));
  // Interleaved, so that a busy spell on the machine does not land on one engine only.
  for (let i = 0; i < RUNS; i++) for (const engine of ENGINES) byEngine.get(engine)!.push(await oneStart(engine));
  const help: number[] = [];
  const floor: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    help.push(helpMs());
    floor.push(nodeFloorMs());
  }
  const fmt = (xs: number[], unit: string) => `${median(xs).toFixed(unit === 'MB' ? 0 : 2)} ${unit}  (runs: ${xs.map((x) => x.toFixed(unit === 'MB' ? 0 : 2)).join(', ')})`;
  const perEngine = [...byEngine].flatMap(([engine, runs]) => [
    `espeak.engine: ${engine}`,
    `  npm start → gRPC health answers ${fmt(runs.map((r) => r.listenMs / 1000), 's')}  first status ${runs.map((r) => r.firstStatus).join(', ')}`,
    `    CPU used by then (npm + node) ${fmt(runs.map((r) => r.listenCpuS), 's')}`,
    `  npm start → /ready (model aside) ${fmt(runs.map((r) => r.readyMs / 1000), 's')}`,
    `  idle RSS after one welcome      ${fmt(runs.map((r) => r.rssMb), 'MB')}`,
  ]);
  process.stdout.write(
    [
      `nexy-server start-up and footprint: node ${process.version}, median of ${RUNS}`,
      ...perEngine,
      `nexy --help                       ${fmt(help.map((h) => h / 1000), 's')}`,
      `node -e 0 (the floor, for scale)  ${fmt(floor.map((h) => h / 1000), 's')}`,
      `load average at the end: ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${cpus().length} cores`,
      '',
    ].join('\n'),
  );
}

await main();
