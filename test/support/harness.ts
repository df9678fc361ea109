import './process-guard.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, Metadata, type ClientReadableStream, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import { loadConfig, type DeepPartial } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { StreamingServiceClient, type StreamResponse, type WelcomeResponse } from '../../src/gen/streaming.js';
import { createLogger } from '../../src/observability/logger.js';
import { startServer, type RunningServer, type StartOptions } from '../../src/server.js';

type PlainConfig = { -readonly [K in keyof Config]: Config[K] };

/**
 * Test defaults: loopback, ephemeral ports, quiet logs, no memory unless a test asks, and no
 * speech warm-up at start (the engine loads on first use; tests about the warm-up or the cached
 * greeting turn it on).
 */
export function testConfig(overrides: DeepPartial<PlainConfig> = {}): Config {
  const base: DeepPartial<PlainConfig> = {
    grpc: { host: '127.0.0.1', port: 0 },
    http: { host: '127.0.0.1', port: 0 },
    logging: { level: 'silent' },
    text_processing: { provider: 'scripted' },
    audio_generation: { warm_up_at_start: false },
    memory_management: { backend: 'none', sqlite: { path: join(mkdtempSync(join(tmpdir(), 'nexy-test-')), 'nexy.sqlite') } },
  };
  return loadConfig({ env: {}, overrides: deepMergePlain(base, overrides) as DeepPartial<PlainConfig> });
}

function deepMergePlain(a: unknown, b: unknown): unknown {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null || Array.isArray(b)) return b ?? a;
  const out: Record<string, unknown> = { ...(a as Record<string, unknown>) };
  for (const [k, v] of Object.entries(b)) out[k] = deepMergePlain(out[k], v);
  return out;
}

export interface TestServer {
  readonly server: RunningServer;
  readonly client: StreamingServiceClient;
  readonly address: string;
  readonly httpUrl: string;
  close(): Promise<void>;
}

/** The whole server in-process on ephemeral ports, and a real gRPC client connected over TCP. */
export async function startTestServer(config: Config = testConfig(), options: StartOptions = {}): Promise<TestServer> {
  const server = await startServer(config, { logger: createLogger('silent'), ...options });
  // Tests start from a ready server, as they did when start-up waited for the warm-up.
  await server.ready.catch(async (error: unknown) => {
    await server.shutdown();
    throw error;
  });
  const address = `127.0.0.1:${server.grpcPort}`;
  const client = new StreamingServiceClient(address, credentials.createInsecure(), {
    'grpc.max_receive_message_length': -1,
  });
  return {
    server,
    client,
    address,
    httpUrl: `http://127.0.0.1:${server.httpPort}`,
    close: async () => {
      client.close();
      await server.shutdown();
    },
  };
}

export interface StreamResult<T> {
  readonly messages: T[];
  readonly status: StatusObject;
  readonly metadata: Metadata | undefined;
}

/** Reads a server stream to its end and returns every message, the status and the initial metadata. */
export function readStream<T>(call: ClientReadableStream<T>): Promise<StreamResult<T>> {
  return new Promise((resolve) => {
    const messages: T[] = [];
    let metadata: Metadata | undefined;
    let status: StatusObject | undefined;
    let ended = false;
    const finish = () => {
      if (status && ended) resolve({ messages, status, metadata });
    };
    call.on('metadata', (m: Metadata) => (metadata = m));
    call.on('data', (m: T) => messages.push(m));
    call.on('status', (s: StatusObject) => {
      status = s;
      finish();
    });
    call.on('error', (e: ServiceError) => {
      status ??= { code: e.code, details: e.details, metadata: e.metadata };
      ended = true;
      finish();
    });
    call.on('end', () => {
      ended = true;
      finish();
    });
  });
}

/** The kind of each message of a StreamAudio reply, in order: text, audio, end, error, action. */
export function kinds(messages: readonly (StreamResponse | WelcomeResponse)[]): string[] {
  return messages.map((m) => m.content?.$case ?? 'empty');
}

export const HARDWARE_ID = '5C8E9D4A-1B2C-4D3E-8F90-A1B2C3D4E5F6';

export { RecordingLlm } from './llm-stubs.js';
