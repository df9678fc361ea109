import { readFileSync } from 'node:fs';
import { status } from '@grpc/grpc-js';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { NexyClient, NexyClientError } from '../client/nexy-client.js';
import { ExitCode, UsageError, type CliContext } from './command.js';

/**
 * What the client subcommands (ask, welcome, interrupt) share: the options that pick the server,
 * the configuration, and how a failed call is reported.
 */

/** parseArgs options every client subcommand takes. */
export const connectionOptions = {
  server: { type: 'string' },
  config: { type: 'string' },
  tls: { type: 'boolean' },
  'ca-cert': { type: 'string' },
  token: { type: 'string' },
} as const;

export const CONNECTION_USAGE = `connection:
  --server HOST:PORT   the server (default: $NEXY_SERVER, else client.server of the config)
  --tls                use TLS (the system's root certificates)
  --ca-cert FILE       use TLS with this root certificate (PEM)
  --token TOKEN        device token, sent as "authorization: Bearer" (default: $NEXY_TOKEN)
  --config PATH        a config file merged over config/unified_config.yaml`;

export interface ConnectionFlags {
  readonly server?: string;
  readonly config?: string;
  readonly tls?: boolean;
  readonly 'ca-cert'?: string;
  readonly token?: string;
}

const HOST_PORT = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;
/** Targets grpc-js resolves itself (`dns:///host:port`, `unix:/path`, ...) are passed on as they are. */
const GRPC_TARGET_SCHEME = /^(?:dns|unix|unix-abstract|ipv4|ipv6|vsock):/;
const MAX_PORT = 65535;

/** The config file: `--config PATH` over the shipped defaults. A ConfigError propagates (exit 2). */
export function loadCliConfig(flags: ConnectionFlags): Config {
  return loadConfig({ overridePath: flags.config });
}

/** `--server`, else NEXY_SERVER, else the config's `client.server`; checked to be HOST:PORT. */
export function resolveServer(flags: ConnectionFlags, context: CliContext, config: Config): string {
  const server = flags.server ?? (context.defaultServer || undefined) ?? config.client.server;
  if (GRPC_TARGET_SCHEME.test(server)) return server;
  const match = HOST_PORT.exec(server);
  const port = match ? Number(match[1]) : 0;
  if (!match || port < 1 || port > MAX_PORT) throw new UsageError(`--server must be HOST:PORT, got ${JSON.stringify(server)}`);
  return server;
}

/** A client for the chosen server with the config's keepalive, deadlines and retries. */
export function connect(flags: ConnectionFlags, context: CliContext, config: Config): NexyClient {
  const address = resolveServer(flags, context, config);
  let tls: boolean | { rootCerts: Buffer } = flags.tls === true;
  if (flags['ca-cert']) {
    try {
      tls = { rootCerts: readFileSync(flags['ca-cert']) };
    } catch (error) {
      throw new UsageError(`cannot read --ca-cert ${flags['ca-cert']}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
  const c = config.client;
  return new NexyClient({
    address,
    tls,
    authToken: flags.token ?? (context.defaultToken || undefined),
    keepaliveTimeMs: c.keepalive_time_ms,
    keepaliveTimeoutMs: c.keepalive_timeout_ms,
    unaryDeadlineMs: c.unary_deadline_ms,
    maxReceiveMessageBytes: c.max_receive_message_bytes,
    retry: {
      maxAttempts: c.retry.max_attempts,
      initialBackoffMs: c.retry.initial_backoff_ms,
      maxBackoffMs: c.retry.max_backoff_ms,
      backoffMultiplier: c.retry.backoff_multiplier,
    },
  });
}

/** grpc-js's wording of a failed connection, around the reason worth showing. */
const NO_CONNECTION_PREFIX = /^No connection established\. Last error: (?:Error: )?/;
const RESOLUTION_NOTE = /\.?\s*Resolution note:.*$/;

/**
 * One line for stderr: the server's message and the status name, or what kept the connection
 * from being made; never a stack.
 */
export function describeFailure(error: unknown, address?: string): string {
  if (error instanceof NexyClientError) {
    if (error.code === status.UNAVAILABLE && !error.fromServer && address !== undefined) {
      const reason = error.message.replace(NO_CONNECTION_PREFIX, '').replace(RESOLUTION_NOTE, '');
      return `nexy: cannot reach the server at ${address}: ${reason} (${error.codeName})`;
    }
    return `nexy: ${error.message} (${error.codeName})`;
  }
  const message = error instanceof Error ? error.message : String(error);
  return `nexy: ${message.split('\n')[0]}`;
}

/**
 * Runs `work` with Ctrl-C turned into a cancel: the first SIGINT calls `onInterrupt` (which
 * cancels the call on the server) and a second one exits at once, for a server that hangs.
 */
export async function withInterrupt<T>(
  context: CliContext,
  onInterrupt: () => void,
  work: () => Promise<T>,
): Promise<T> {
  let interrupts = 0;
  const handler = () => {
    interrupts += 1;
    if (interrupts === 1) onInterrupt();
    // The user asked twice: a server that does not answer the cancel must not keep the terminal.
    else process.exit(ExitCode.interrupted);
  };
  context.signals.on('SIGINT', handler);
  try {
    return await work();
  } finally {
    context.signals.off('SIGINT', handler);
  }
}
