import { fileURLToPath } from 'node:url';
import { Server } from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type { Config } from '../config/schema.js';
import { StreamingServiceService } from '../gen/streaming.js';
import { withFastAudioEncoding } from './audio-encoding.js';
import { createStreamingService, type StreamingServiceDeps } from './streaming-service.js';
import { grpcCredentials } from './tls.js';
import { tolerantDefinition } from './tolerant-decode.js';

/** The descriptors server reflection serves; copied beside the compiled modules by the build. */
const DESCRIPTORS = ['../gen/streaming.binpb', '../gen/health.binpb'].map((path) => fileURLToPath(new URL(path, import.meta.url)));

/** The health services the server reports: the whole server (`""`) and StreamingService. */
const HEALTH_SERVICES: readonly string[] = ['', 'streaming.StreamingService'];

/** The gRPC port: StreamingService, gRPC health and (once warm) server reflection. */
export interface GrpcPort {
  /** True when the port serves TLS. */
  readonly tls: boolean;
  readonly health: HealthImplementation;
  readonly healthServices: readonly string[];
  /** Binds `grpc.host`:`grpc.port`; resolves with the port bound. */
  bind(): Promise<number>;
  /**
   * Adds server reflection (buf curl, grpcurl). It is tooling, and @grpc/reflection parses its own
   * protos with protobufjs: added after the ports opened (grpc-js takes services any time).
   */
  addReflection(): Promise<void>;
  /** Every health service SERVING (the start-up warm-up is done). */
  setServing(): void;
  /** Re-reads the TLS files (SIGHUP); see `RunningServer.reloadTls`. */
  reloadTls(): boolean;
  /** Stops taking calls and waits for those open to end. */
  close(): Promise<void>;
  /** Cuts every call still open. */
  forceClose(): void;
}

/** The gRPC server from `grpc`; health says NOT_SERVING until {@link GrpcPort.setServing}. */
export function createGrpcPort(config: Config, deps: StreamingServiceDeps): GrpcPort {
  const server = new Server({
    'grpc.max_receive_message_length': config.grpc.max_receive_message_bytes,
    'grpc.max_send_message_length': config.grpc.max_send_message_bytes,
    'grpc.keepalive_time_ms': config.grpc.keepalive_time_ms,
    'grpc.keepalive_timeout_ms': config.grpc.keepalive_timeout_ms,
  });
  server.addService(tolerantDefinition(withFastAudioEncoding(StreamingServiceService)), createStreamingService(deps));
  // NOT_SERVING until the warm-up is done (a load balancer waits; a client may still call).
  const health = new HealthImplementation(Object.fromEntries(HEALTH_SERVICES.map((name) => [name, 'NOT_SERVING' as const])));
  health.addToServer(server);
  const credentials = grpcCredentials(config.grpc.tls);
  const { host, port } = config.grpc;
  return {
    tls: credentials.tls,
    health,
    healthServices: HEALTH_SERVICES,
    bind: () => {
      const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
      return new Promise((resolvePort, reject) => {
        server.bindAsync(address, credentials.credentials, (error, bound) => (error ? reject(error) : resolvePort(bound)));
      });
    },
    addReflection: async () => {
      const [{ ReflectionService }, { reflectionDefinition }] = await Promise.all([import('@grpc/reflection'), import('./reflection.js')]);
      new ReflectionService(reflectionDefinition(DESCRIPTORS)).addToServer(server);
    },
    setServing: () => {
      for (const name of HEALTH_SERVICES) health.setStatus(name, 'SERVING');
    },
    reloadTls: credentials.reload,
    close: () => new Promise<void>((done) => server.tryShutdown(() => done())),
    forceClose: () => server.forceShutdown(),
  };
}
