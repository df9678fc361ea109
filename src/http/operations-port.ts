import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { MemoryStore } from '../memory/store.js';
import type { Metrics } from '../observability/metrics.js';
import type { SessionBackend } from '../sessions/create-session-backend.js';
import { UpdateFeed } from '../update/update-feed.js';
import { createAdminRoute } from './admin-routes.js';
import { createHttpServer, type ReadinessCheck } from './http-server.js';
import { createOperatorPage } from './operator-page.js';
import { createUpdateRoute } from './update-routes.js';

/** What the operations port reports on and acts for; plain shapes, so http/ needs no pipeline import. */
export interface OperationsParts {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly version: string;
  readonly startedAt: number;
  /** The turn service: shutting down or not, turns running now. */
  readonly service: { readonly draining: boolean; readonly activeTurns: number };
  /** The start-up warm-up: what it still lacks (undefined once done). */
  readonly warmUp: { problem(): string | undefined };
  readonly llm: { readonly name: string };
  readonly tts: { readonly name: string };
  readonly memory: {
    readonly store: Pick<MemoryStore, 'name' | 'ping' | 'forget'>;
    /** The long-term-memory updater: an admin forget drops what it still holds for the device. */
    readonly updater?: { cancel(hardwareId: string): void };
  };
  readonly sessions: Pick<SessionBackend, 'name' | 'ping' | 'collectStore'>;
  /** Limits, quotas and device tokens, for /status. */
  readonly admission: { status(): Promise<Record<string, unknown>> };
}

/** The HTTP port of operations: /health, /ready, /status, /metrics, the update feed, the admin API, the operator page. */
export interface OperationsPort {
  /** The client update feed (`config.updates`), served here. */
  readonly updates: UpdateFeed;
  /** Listens on `http.host`:`http.port`; resolves with the port bound. */
  listen(): Promise<number>;
  /** Closes the port (open connections too), then the update feed. */
  close(): Promise<void>;
}

/** Readiness: required checks make /ready 503 (and gRPC health NOT_SERVING); `updates` is advisory. */
function readinessChecks(parts: OperationsParts, updates: UpdateFeed): ReadinessCheck[] {
  const { service, llm, sessions } = parts;
  return [
    { name: 'server', check: async () => (service.draining ? 'shutting down' : undefined) },
    { name: 'tts', check: async () => parts.warmUp.problem() },
    {
      name: 'llm',
      check: async () => (llm.name === 'degraded' ? 'no language model configured (OPENAI_API_KEY / OPENAI_BASE_URL / GEMINI_API_KEY)' : undefined),
    },
    { name: 'memory', check: async () => parts.memory.store.ping?.() },
    { name: 'sessions', check: () => sessions.ping() },
    // Advisory: a bad update artifact is alerted on, but turns are still served.
    { name: 'updates', required: false, check: async () => updates.problem() },
  ];
}

/** The update feed and the operations HTTP server of `config`; nothing listens until `listen()`. */
export async function createOperationsPort(config: Config, parts: OperationsParts): Promise<OperationsPort> {
  const { logger, metrics } = parts;
  const up = config.updates;
  const updates = await UpdateFeed.create({
    releasesDir: up.releases_dir,
    downloadsDir: up.downloads_dir,
    publicKey: up.ed25519_public_key,
    enabled: { stable: up.channels.stable.enabled, beta: up.channels.beta.enabled, alpha: up.channels.alpha.enabled },
    maxArtifactBytes: up.max_artifact_bytes,
    rescanIntervalMs: up.rescan_interval_ms,
    logger,
    metrics,
  });
  let http: ReturnType<typeof createHttpServer>;
  try {
    http = createHttpServer({
      logger,
      metrics,
      version: parts.version,
      startedAt: parts.startedAt,
      readiness: readinessChecks(parts, updates),
      status: async () => ({
        active_streams: parts.service.activeTurns,
        collect_buffers: await parts.sessions.collectStore.size(),
        providers: { llm: parts.llm.name, tts: parts.tts.name, memory: parts.memory.store.name, sessions: parts.sessions.name },
        updates: updates.status(),
        ...(await parts.admission.status()),
      }),
      routes: [
        createAdminRoute({
          token: config.admin.token,
          forget: async (hardwareId) => {
            parts.memory.updater?.cancel(hardwareId);
            await parts.memory.store.forget(hardwareId);
          },
          logger,
        }),
        createUpdateRoute({ feed: updates, metrics, logger, title: up.title, publicBaseUrl: up.public_base_url, feedMaxAgeS: up.feed_max_age_s }),
        ...(config.http.operator_page.enabled
          ? [createOperatorPage({ pollIntervalMs: config.http.operator_page.poll_interval_ms, latencyWindowMs: config.http.operator_page.latency_window_ms })]
          : []),
      ],
    });
  } catch (error) {
    updates.close();
    throw error;
  }
  return {
    updates,
    listen: async () => {
      http.listen(config.http.port, config.http.host);
      await once(http, 'listening');
      return (http.address() as AddressInfo).port;
    },
    close: async () => {
      try {
        await new Promise<void>((done) => {
          if (!http.listening) return done();
          http.close(() => done());
          http.closeAllConnections();
        });
      } finally {
        updates.close();
      }
    },
  };
}
