/** Proof that a turn holds its session; hand it back to `release`. */
export interface Lease {
  readonly sessionId: string;
  readonly hardwareId: string;
  readonly token: symbol;
}

export type AcquireResult = { ok: true; lease: Lease } | { ok: false; reason: 'conflict' };

/**
 * Single-flight: at most one active COMMIT per session id. Async so that a shared (Redis)
 * backend fits the same shape.
 */
export interface SessionRegistry {
  acquire(sessionId: string, owner: { hardwareId: string }): Promise<AcquireResult>;
  /** Releases a lease; releasing one that is no longer held does nothing. */
  release(lease: Lease): Promise<void>;
  /** Session ids with an active turn for this hardware id. */
  active(hardwareId: string): Promise<string[]>;
  /** Active turns in this registry. */
  count(): Promise<number>;
}

/** In-process SessionRegistry for one server instance. */
export class MemorySessionRegistry implements SessionRegistry {
  readonly #leases = new Map<string, Lease>();

  async acquire(sessionId: string, owner: { hardwareId: string }): Promise<AcquireResult> {
    if (this.#leases.has(sessionId)) return { ok: false, reason: 'conflict' };
    const lease: Lease = { sessionId, hardwareId: owner.hardwareId, token: Symbol(sessionId) };
    this.#leases.set(sessionId, lease);
    return { ok: true, lease };
  }

  async release(lease: Lease): Promise<void> {
    if (this.#leases.get(lease.sessionId)?.token === lease.token) this.#leases.delete(lease.sessionId);
  }

  async active(hardwareId: string): Promise<string[]> {
    return [...this.#leases.values()].filter((l) => l.hardwareId === hardwareId).map((l) => l.sessionId);
  }

  async count(): Promise<number> {
    return this.#leases.size;
  }
}
