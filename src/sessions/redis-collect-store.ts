import type { Redis } from 'ioredis';
import { AppError } from '../errors.js';
import { mergeSpeech } from '../pipeline/collect-merge.js';
import type { AppendResult, CollectKey, CollectPiece, CollectStore, CollectedState } from './collect-store.js';

export interface RedisCollectStoreOptions {
  readonly keyPrefix: string;
  readonly ttlMs: number;
  readonly maxBuffers: number;
  readonly maxTextChars: number;
  /** Optimistic writes retried this many times when another instance wrote the same buffer. */
  readonly maxWriteAttempts: number;
  readonly now?: () => number;
}

interface Stored extends CollectedState {
  readonly hardwareId: string;
}

/**
 * Compare-and-set: writes `next` only if the key still holds `expected` ('' = absent). The merge
 * rule runs in TypeScript, so atomicity comes from this check instead of a server-side merge.
 */
const COMPARE_AND_SET = `
local current = redis.call('GET', KEYS[1])
if (current or '') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`;

/**
 * CollectStore shared by several server instances through Redis: a COLLECT may land on one
 * instance and its COMMIT on another. Buffers are JSON strings with a TTL; a sorted index bounds
 * their number; a set per hardware id lets InterruptSession drop them all.
 */
export class RedisCollectStore implements CollectStore {
  readonly #redis: Redis;
  readonly #options: RedisCollectStoreOptions;
  readonly #now: () => number;

  constructor(redis: Redis, options: RedisCollectStoreOptions) {
    this.#redis = redis;
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  #key(key: CollectKey): string {
    // '|' is outside the id alphabet, so two different (hardware, session) pairs never collide.
    return `${this.#options.keyPrefix}collect:${key.hardwareId}|${key.sessionId}`;
  }

  #hardwareIndex(hardwareId: string): string {
    return `${this.#options.keyPrefix}collect-hw:${hardwareId}`;
  }

  get #index(): string {
    return `${this.#options.keyPrefix}collect-index`;
  }

  async append(key: CollectKey, piece: CollectPiece): Promise<AppendResult> {
    const id = this.#key(key);
    for (let attempt = 0; attempt < this.#options.maxWriteAttempts; attempt++) {
      const raw = (await this.#redis.get(id)) ?? '';
      const current = raw === '' ? undefined : (JSON.parse(raw) as Stored);
      if (current && piece.seq <= current.lastSeq) return 'stale';
      const text = mergeSpeech(current?.text ?? '', piece.text);
      if (text.length > this.#options.maxTextChars) {
        throw new AppError('limit', `collected text is longer than ${this.#options.maxTextChars} characters`);
      }
      const next: Stored = { hardwareId: key.hardwareId, lastSeq: piece.seq, text, screenshot: piece.screenshot ?? current?.screenshot };
      const written = await this.#redis.eval(COMPARE_AND_SET, 1, id, raw, JSON.stringify(next), this.#options.ttlMs);
      if (written !== 1) continue;
      const hardwareIndex = this.#hardwareIndex(key.hardwareId);
      await this.#redis
        .multi()
        .sadd(hardwareIndex, id)
        .pexpire(hardwareIndex, this.#options.ttlMs)
        .zadd(this.#index, this.#now(), id)
        .exec();
      await this.#evictOverflow();
      return 'accepted';
    }
    throw new AppError('conflict', 'the collected speech is being written concurrently; try again');
  }

  async take(key: CollectKey): Promise<CollectedState | undefined> {
    const id = this.#key(key);
    const raw = await this.#redis.getdel(id);
    await this.#redis.multi().srem(this.#hardwareIndex(key.hardwareId), id).zrem(this.#index, id).exec();
    if (raw === null) return undefined;
    const stored = JSON.parse(raw) as Stored;
    return { lastSeq: stored.lastSeq, text: stored.text, screenshot: stored.screenshot };
  }

  async dropHardware(hardwareId: string): Promise<number> {
    const hardwareIndex = this.#hardwareIndex(hardwareId);
    const keys = await this.#redis.smembers(hardwareIndex);
    if (keys.length === 0) return 0;
    const results = await this.#redis
      .multi()
      .del(...keys)
      .zrem(this.#index, ...keys)
      .del(hardwareIndex)
      .exec();
    return Number(results?.[0]?.[1] ?? 0);
  }

  async size(): Promise<number> {
    await this.#redis.zremrangebyscore(this.#index, '-inf', this.#now() - this.#options.ttlMs);
    return this.#redis.zcard(this.#index);
  }

  /** The Redis connection belongs to the composition root, which closes it. */
  async close(): Promise<void> {}

  /** Past the bound, the least recently touched buffers go (expired index entries first). */
  async #evictOverflow(): Promise<void> {
    const count = await this.size();
    const excess = count - this.#options.maxBuffers;
    if (excess <= 0) return;
    const oldest = await this.#redis.zpopmin(this.#index, excess);
    const keys = oldest.filter((_, i) => i % 2 === 0);
    if (keys.length > 0) await this.#redis.del(...keys);
  }
}
