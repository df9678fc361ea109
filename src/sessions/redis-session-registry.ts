import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { redisCall } from './redis-connection.js';
import { sessionScripts, type SessionScripts } from './redis-scripts.js';
import type { AcquireResult, Lease, SessionRegistry } from './session-registry.js';

export interface RedisSessionRegistryOptions {
  readonly keyPrefix: string;
  /** A lease not renewed within this long expires (an instance that died frees its sessions). */
  readonly leaseTtlMs: number;
  /** Where a failed release or renewal is reported (they do not fail the turn). */
  readonly logger?: Logger;
  readonly now?: () => number;
}

interface Held {
  readonly lease: Lease;
  readonly value: string;
  readonly timer: NodeJS.Timeout;
}

/**
 * Single-flight across server instances: a lease is a Redis key set with NX and a TTL, renewed
 * while the turn runs. A sorted set per hardware id (scored by expiry) lists its active sessions
 * for InterruptSession on any instance. Acquire, renew, release and the active list are one
 * script call each (src/sessions/redis-scripts.ts).
 */
export class RedisSessionRegistry implements SessionRegistry {
  readonly #scripts: SessionScripts;
  readonly #options: RedisSessionRegistryOptions;
  readonly #now: () => number;
  readonly #held = new Map<symbol, Held>();

  constructor(redis: Redis, options: RedisSessionRegistryOptions) {
    this.#scripts = sessionScripts(redis);
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  #leaseKey(sessionId: string): string {
    return `${this.#options.keyPrefix}lease:${sessionId}`;
  }

  /** The sorted set of a hardware id's active sessions (read by the interrupt hub's script). */
  activeKey(hardwareId: string): string {
    return `${this.#options.keyPrefix}active:${hardwareId}`;
  }

  async acquire(sessionId: string, owner: { hardwareId: string }): Promise<AcquireResult> {
    const value = `${randomUUID()}|${owner.hardwareId}`;
    const ttl = this.#options.leaseTtlMs;
    const leaseKey = this.#leaseKey(sessionId);
    const activeKey = this.activeKey(owner.hardwareId);
    const acquired = await redisCall(this.#scripts.nexyAcquire(leaseKey, activeKey, value, ttl, this.#now() + ttl, sessionId));
    if (acquired !== 1) return { ok: false, reason: 'conflict' };
    const lease: Lease = { sessionId, hardwareId: owner.hardwareId, token: Symbol(sessionId) };
    // Renewed well before expiry; a failed renewal is retried at the next tick.
    const timer = setInterval(() => {
      this.#scripts.nexyRenew(leaseKey, activeKey, value, ttl, this.#now() + ttl, sessionId).catch((error: unknown) => {
        this.#options.logger?.warn({ session_id: sessionId, err: error }, 'lease renewal failed; retried at the next tick');
      });
    }, Math.max(1, Math.floor(ttl / 3))).unref();
    this.#held.set(lease.token, { lease, value, timer });
    return { ok: true, lease };
  }

  async release(lease: Lease): Promise<void> {
    const held = this.#held.get(lease.token);
    if (!held) return;
    this.#held.delete(lease.token);
    clearInterval(held.timer);
    // Never throws: a lease Redis did not hear released expires after its TTL, and a turn's
    // clean-up must go on either way.
    await this.#scripts.nexyRelease(this.#leaseKey(lease.sessionId), this.activeKey(lease.hardwareId), held.value, lease.sessionId).catch(
      (error: unknown) => {
        this.#options.logger?.warn({ session_id: lease.sessionId, err: error }, 'lease release failed; it expires after lease_ttl_ms');
      },
    );
  }

  async active(hardwareId: string): Promise<string[]> {
    return (await redisCall(this.#scripts.nexyActive(this.activeKey(hardwareId), this.#now()))) as string[];
  }

  /** Turns held by this instance. */
  async count(): Promise<number> {
    return this.#held.size;
  }

  /** Stops renewing (shutdown); the leases expire or are released by their turns. */
  close(): void {
    for (const held of this.#held.values()) clearInterval(held.timer);
  }
}
