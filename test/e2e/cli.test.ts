import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import wavefile from 'wavefile';
import { Server, ServerCredentials, type Metadata, type ServerWritableStream, type ServiceError } from '@grpc/grpc-js';
import {
  StreamingServiceService,
  type InterruptResponse,
  type StreamingServiceServer,
  type StreamRequest,
  type StreamResponse,
} from '../../src/gen/streaming.js';
import { makePng } from '../support/images.js';
import { HARDWARE_ID, RecordingLlm, startTestServer, testConfig, type TestServer } from '../support/harness.js';

/**
 * The `nexy` command as a user runs it: a child process (bin/nexy.mjs) against the whole server
 * in-process on an ephemeral port.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = join(ROOT, 'bin/nexy.mjs');
const SIGINT_EXIT = 130;
const WAV_DATA_OFFSET = 44;
/**
 * Each test starts a Node process (tsx, sharp, gRPC); a few at once keep the file quick without
 * starving the other test files `npm test` runs in parallel.
 */
const CHILDREN_AT_ONCE = 4;

interface CliRun {
  readonly child: ChildProcess;
  readonly done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/** The environment of the child: this one without anything that would pick another server or config. */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.NEXY_SERVER;
  delete env.NEXY_CONFIG;
  return env;
}

function nexy(args: string[], env: NodeJS.ProcessEnv = childEnv()): CliRun {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = once(child, 'close').then(([code]) => ({ code: code as number | null, stdout, stderr }));
  return { child, done };
}

function parseWav(bytes: Buffer) {
  const wav = new wavefile.WaveFile(bytes);
  const fmt = wav.fmt as { sampleRate: number; numChannels: number; audioFormat: number };
  const samples = wav.getSamples(true, Int16Array) as unknown as Int16Array;
  return { sampleRate: fmt.sampleRate, channels: fmt.numChannels, audioFormat: fmt.audioFormat, bitDepth: wav.bitDepth, frames: samples.length / fmt.numChannels };
}

/**
 * A pass-through StreamAudio in front of the server that counts the audio frames it relays: the
 * WAV must hold exactly what went over the wire to the CLI.
 */
async function countingProxy(t: TestServer): Promise<{ address: string; frames: () => number; close(): void }> {
  let frames = 0;
  const proxy = new Server();
  proxy.addService(StreamingServiceService, {
    streamAudio: (call: ServerWritableStream<StreamRequest, StreamResponse>) => {
      const upstream = t.client.streamAudio(call.request);
      upstream.on('metadata', (m: Metadata) => call.sendMetadata(m));
      upstream.on('data', (m: StreamResponse) => {
        if (m.content?.$case === 'audioChunk') frames += m.content.audioChunk.shape[0];
        call.write(m);
      });
      upstream.on('error', (e: ServiceError) => call.emit('error', e));
      upstream.on('end', () => call.end());
      call.on('cancelled', () => upstream.cancel());
    },
  } as unknown as StreamingServiceServer);
  const port = await new Promise<number>((resolve, reject) =>
    proxy.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  return { address: `127.0.0.1:${port}`, frames: () => frames, close: () => proxy.forceShutdown() };
}

describe('nexy CLI', { concurrency: CHILDREN_AT_ONCE }, () => {
  let t: TestServer;
  let dir: string;
  const llm = new RecordingLlm((request) => `You said: ${request.prompt}. That is all.`);
  before(async () => {
    t = await startTestServer(testConfig(), { llm });
    dir = await mkdtemp(join(tmpdir(), 'nexy-cli-'));
  });
  after(() => t.close());

  test('ask --out writes a WAV that reads back as 48 kHz mono int16 with every frame of the answer', async () => {
    const out = join(dir, 'reply.wav');
    const proxy = await countingProxy(t);
    const run = await nexy(['ask', 'read me the news', '--out', out, '--server', proxy.address]).done;
    proxy.close();
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /You said: read me the news\. That is all\./);
    assert.match(run.stderr, /first text \d+\.\d+ s · first audio \d+\.\d+ s · total \d+\.\d+ s/);
    const wav = parseWav(await readFile(out));
    assert.equal(wav.sampleRate, 48000);
    assert.equal(wav.channels, 1);
    assert.equal(wav.audioFormat, 1);
    assert.equal(wav.bitDepth, '16');
    assert.ok(wav.frames > 0);
    assert.equal(wav.frames, proxy.frames());
  });

  test('--interim drives the gate: the model gets the merged prompt, from exactly one COMMIT', async () => {
    const before = llm.requests.length;
    const run = await nexy(['ask', '--interim', 'what is', '--interim', 'what is the weather', 'in Paris', '--server', t.address]).done;
    assert.equal(run.code, 0, run.stderr);
    const prompts = llm.requests.slice(before).map((r) => r.prompt);
    assert.deepEqual(prompts.filter((p) => p.includes('Paris')), ['what is the weather in Paris']);
  });

  test('--screenshot converts a PNG to WebP and the model receives it with its size', async () => {
    const png = join(dir, 'screen.png');
    await writeFile(png, await makePng(320, 200));
    const run = await nexy(['ask', 'what is on my screen', '--screenshot', png, '--server', t.address]).done;
    assert.equal(run.code, 0, run.stderr);
    const request = llm.requests.find((r) => r.prompt === 'what is on my screen');
    const image = Buffer.from(request?.image?.base64 ?? '', 'base64');
    assert.equal(image.subarray(0, 4).toString('ascii'), 'RIFF');
    assert.equal(image.subarray(8, 12).toString('ascii'), 'WEBP');
    assert.equal(request?.image?.width, 320);
    assert.equal(request?.image?.height, 200);
  });

  test('--play streams the audio to a system player as WAV', async () => {
    const bin = await mkdtemp(join(tmpdir(), 'nexy-player-'));
    const played = join(bin, 'played.wav');
    // A stand-in for aplay: whatever it is given ends up in a file.
    await writeFile(join(bin, 'aplay'), `#!/bin/sh\nexec /bin/cat > '${played}'\n`);
    await chmod(join(bin, 'aplay'), 0o755);
    const out = join(dir, 'played-too.wav');
    const run = await nexy(['ask', 'play it', '--play', '--out', out, '--server', t.address], childEnv({ PATH: bin })).done;
    assert.equal(run.code, 0, run.stderr);
    const heard = await readFile(played);
    const saved = await readFile(out);
    assert.equal(heard.subarray(0, 4).toString('ascii'), 'RIFF');
    assert.equal(heard.subarray(8, 12).toString('ascii'), 'WAVE');
    assert.ok(heard.subarray(WAV_DATA_OFFSET).equals(saved.subarray(WAV_DATA_OFFSET)), 'the player got every sample');
  });

  test('--play without any player says so and still answers', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'nexy-noplayer-'));
    const run = await nexy(['ask', 'no speakers', '--play', '--server', t.address], childEnv({ PATH: empty })).done;
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /found no audio player/);
  });

  test('welcome --out writes the greeting as 48 kHz mono', async () => {
    const out = join(dir, 'hi.wav');
    const run = await nexy(['welcome', '--text', 'Hello from the test.', '--out', out, '--server', t.address]).done;
    assert.equal(run.code, 0, run.stderr);
    const wav = parseWav(await readFile(out));
    assert.equal(wav.sampleRate, 48000);
    assert.equal(wav.channels, 1);
    assert.ok(wav.frames > 0);
  });

  test('interrupt with nothing running succeeds', async () => {
    const run = await nexy(['interrupt', '--hardware-id', HARDWARE_ID, '--server', t.address]).done;
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'nothing was running\n');
  });

  test('NEXY_SERVER is the default server', async () => {
    const run = await nexy(['interrupt', '--hardware-id', HARDWARE_ID], { ...childEnv(), NEXY_SERVER: t.address }).done;
    assert.equal(run.code, 0, run.stderr);
  });

  test('an error from the server: exit 3 and its message on one stderr line', async () => {
    const run = await nexy(['interrupt', '--hardware-id', 'bad id!', '--server', t.address]).done;
    assert.equal(run.code, 2, 'checked before sending');
    const bad = await nexy(['ask', 'x'.repeat(9000), '--server', t.address]).done;
    assert.equal(bad.code, 3, bad.stderr);
    assert.equal(bad.stderr.trimEnd().split('\n').length, 1, bad.stderr);
    assert.match(bad.stderr, /prompt.*\(INVALID_ARGUMENT\)/);
  });

  test('an unreachable server: exit 3 and one line on stderr, no stack', async () => {
    const run = await nexy(['ask', 'hello', '--server', '127.0.0.1:1']).done;
    assert.equal(run.code, 3);
    const lines = run.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, run.stderr);
    assert.match(lines[0], /^nexy: cannot reach the server at 127\.0\.0\.1:1: .*\(UNAVAILABLE\)$/);
  });

  test('bad usage: exit 2', async () => {
    const runs = await Promise.all([
      nexy(['ask', '--server', t.address]).done,
      nexy(['ask', 'hi', '--no-such-flag']).done,
      nexy(['ask', 'hi', '--server', 'no-port']).done,
      nexy(['ask', 'hi', '--screenshot', join(dir, 'missing.png')]).done,
      nexy(['nonsense']).done,
    ]);
    for (const run of runs) {
      assert.equal(run.code, 2, run.stderr);
      assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
    }
  });
});

describe('nexy ask and Ctrl-C', () => {
  let t: TestServer;
  const llm = new RecordingLlm('The first sentence is here. Then a very long rest of the answer that never comes.');
  before(async () => {
    t = await startTestServer(testConfig(), { llm });
  });
  after(() => t.close());

  test('SIGINT during a long answer cancels the turn on the server and exits 130', async () => {
    llm.hold();
    try {
      const abortedBefore = llm.aborted.length;
      const started = llm.started();
      const run = nexy(['ask', 'tell me a long story', '--hardware-id', HARDWARE_ID, '--server', t.address]);
      // The turn is running on the server, held by the model after its first sentence.
      await started;
      run.child.kill('SIGINT');
      const { code, stderr } = await run.done;
      assert.equal(code, SIGINT_EXIT, stderr);
      assert.equal(stderr, 'nexy: interrupted\n');
      assert.ok(llm.aborted.length > abortedBefore, 'the model call was aborted on the server');
      // Nothing of that device is left running.
      const { interruptedSessions } = await new Promise<InterruptResponse>((resolve, reject) =>
        t.client.interruptSession({ hardwareId: HARDWARE_ID }, (e, r) => (e ? reject(e) : resolve(r))),
      );
      assert.deepEqual(interruptedSessions, []);
    } finally {
      llm.release();
    }
  });
});
