import { join, resolve } from 'node:path';
import { credentials, loadPackageDefinition, type Client, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

type HealthClient = Client & { check(req: { service: string }, cb: (e: ServiceError | null, r?: { status: string }) => void): void };

const HEALTH_PROTO = join(resolve(import.meta.dirname, '../..'), 'node_modules/grpc-health-check/proto/health/v1/health.proto');

/** grpc.health.v1.Health/Check over a fresh connection: the status name (`SERVING`, `NOT_SERVING`). */
export function grpcHealth(address: string, service = ''): Promise<string> {
  const pkg = loadPackageDefinition(loadSync(HEALTH_PROTO, { enums: String })) as unknown as {
    grpc: { health: { v1: { Health: new (a: string, c: ReturnType<typeof credentials.createInsecure>) => HealthClient } } };
  };
  const client = new pkg.grpc.health.v1.Health(address, credentials.createInsecure());
  return new Promise((resolveStatus, reject) =>
    client.check({ service }, (error, reply) => {
      client.close();
      if (error) reject(error);
      else resolveStatus(reply!.status);
    }),
  );
}
