import type { ServiceDefinition } from '@grpc/grpc-js';

/**
 * What a handler receives instead of a request whose bytes do not parse. grpc-js answers
 * INTERNAL "Error deserializing request" when a deserializer throws, and logs nothing; bad bytes
 * are bad input, so the handler must see them and answer INVALID_ARGUMENT itself.
 */
export class UndecodableRequest {
  constructor(
    /** The decoder's own words, cut short (safe to log: it never quotes the bytes). */
    readonly reason: string,
    readonly bytes: number,
  ) {}
}

const MAX_REASON_CHARS = 80;

/** The marker when `request` did not parse, else undefined. */
export function undecodable(request: unknown): UndecodableRequest | undefined {
  return request instanceof UndecodableRequest ? request : undefined;
}

/** The same service whose request deserializers never throw: they return an {@link UndecodableRequest}. */
export function tolerantDefinition<D extends ServiceDefinition>(definition: D): D {
  const out: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(definition)) {
    const decode = method.requestDeserialize;
    out[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer): unknown => {
        try {
          return decode(bytes);
        } catch (error) {
          const reason = error instanceof Error ? error.message : String(error);
          return new UndecodableRequest(reason.slice(0, MAX_REASON_CHARS), bytes.length);
        }
      },
    };
  }
  return out as D;
}
