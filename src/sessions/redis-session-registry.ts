import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { AcquireResult, Lease, SessionRegistry } from './session-registry.js';

export interface RedisSessionRegistryOptions {
  readonly keyPrefix: string;
  /** A lease not renewed within this long expires (an instance that died frees its sessions). */
  readonly leaseTtlMs: number;
  readonly now?: () => number;
}

const RENEW = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
return 1`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
redis.call('ZREM', KEYS[2], ARGV[2])
return 1`;

interface Held {
  readonly lease: Lease;
  readonly value: string;
  readonly timer: NodeJS.Timeout;
}

/**
 * Single-flight across server instances: a lease is a Redis key set with NX and a TTL, renewed
 * while the turn runs. A sorted set per hardware id (scored by expiry) lists its active sessions
 * for InterruptSession on any instance.
 */
export class RedisSessionRegistry implements SessionRegistry {
  readonly #redis: Redis;
  readonly #options: RedisSessionRegistryOptions;
  readonly #now: () => number;
  readonly #held = new Map<symbol, Held>();

  constructor(redis: Redis, options: RedisSessionRegistryOptions) {
    this.#redis = redis;
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  #leaseKey(sessionId: string): string {
    return `${this.#options.keyPrefix}lease:${sessionId}`;
  }

  #activeKey(hardwareId: string): string {
    return `${this.#options.keyPrefix}active:${hardwareId}`;
  }

  async acquire(sessionId: string, owner: { hardwareId: string }): Promise<AcquireResult> {
    const value = `${randomUUID()}|${owner.hardwareId}`;
    const ttl = this.#options.leaseTtlMs;
    const set = await this.#redis.set(this.#leaseKey(sessionId), value, 'PX', ttl, 'NX');
    if (set !== 'OK') return { ok: false, reason: 'conflict' };
    await this.#redis.zadd(this.#activeKey(owner.hardwareId), this.#now() + ttl, sessionId);
    const lease: Lease = { sessionId, hardwareId: owner.hardwareId, token: Symbol(sessionId) };
    // Renewed well before expiry; a failed renewal is retried at the next tick.
    const timer = setInterval(() => {
      void this.#redis
        .eval(RENEW, 2, this.#leaseKey(sessionId), this.#activeKey(owner.hardwareId), value, ttl, this.#now() + ttl, sessionId)
        .catch(() => undefined);
    }, Math.max(1, Math.floor(ttl / 3))).unref();
    this.#held.set(lease.token, { lease, value, timer });
    return { ok: true, lease };
  }

  async release(lease: Lease): Promise<void> {
    const held = this.#held.get(lease.token);
    if (!held) return;
    this.#held.delete(lease.token);
    clearInterval(held.timer);
    await this.#redis.eval(RELEASE, 2, this.#leaseKey(lease.sessionId), this.#activeKey(lease.hardwareId), held.value, lease.sessionId);
  }

  async active(hardwareId: string): Promise<string[]> {
    const key = this.#activeKey(hardwareId);
    await this.#redis.zremrangebyscore(key, '-inf', String(this.#now()));
    return this.#redis.zrange(key, '0', '-1');
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
