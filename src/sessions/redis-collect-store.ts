import type { Redis } from 'ioredis';
import { AppError } from '../errors.js';
import { speechWords } from '../protocol/collect-merge.js';
import type { AppendResult, CollectKey, CollectPiece, CollectStore, CollectedState } from './collect-store.js';
import { redisCall } from './redis-connection.js';
import { sessionScripts, type SessionScripts } from './redis-scripts.js';

export interface RedisCollectStoreOptions {
  readonly keyPrefix: string;
  readonly ttlMs: number;
  readonly maxBuffers: number;
  readonly maxTextChars: number;
  readonly now?: () => number;
}

/**
 * The piece as the COLLECT script needs it: word keys joined by ' ' and each word's UTF-8 byte
 * offsets (Lua strings are bytes), computed here with the merge rule's own word function.
 */
function pieceArgs(text: string): Array<string | number> {
  const words = speechWords(text);
  const starts: number[] = [];
  const ends: number[] = [];
  let bytes = 0;
  let at = 0;
  for (const word of words) {
    bytes += Buffer.byteLength(text.slice(at, word.start));
    starts.push(bytes);
    bytes += Buffer.byteLength(text.slice(word.start, word.end));
    ends.push(bytes);
    at = word.end;
  }
  return [
    text,
    words.map((w) => w.key).join(' '),
    words.length,
    starts.join(','),
    ends.join(','),
    /^\s/u.test(text) ? 1 : 0,
    /\s$/u.test(text) ? 1 : 0,
    text.length,
  ];
}

/**
 * CollectStore shared by several server instances through Redis: a COLLECT may land on one
 * instance and its COMMIT on another. Each buffer is a hash with a TTL; a sorted index bounds
 * their number; a set per hardware id lets InterruptSession drop them all. Every operation is
 * one script call (src/sessions/redis-scripts.ts), so one round trip.
 */
export class RedisCollectStore implements CollectStore {
  readonly #scripts: SessionScripts;
  readonly #options: RedisCollectStoreOptions;
  readonly #now: () => number;
  #buffered = 0;

  constructor(redis: Redis, options: RedisCollectStoreOptions) {
    this.#scripts = sessionScripts(redis);
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Buffers in Redis (all instances) as the last script call saw them. */
  get buffered(): number {
    return this.#buffered;
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
    const { ttlMs, maxBuffers, maxTextChars } = this.#options;
    const shot = piece.screenshot;
    const [outcome, buffered] = (await redisCall(
      this.#scripts.nexyCollect(
        this.#key(key),
        this.#hardwareIndex(key.hardwareId),
        this.#index,
        piece.seq,
        ...pieceArgs(piece.text),
        maxTextChars,
        ttlMs,
        this.#now(),
        maxBuffers,
        shot ? 1 : 0,
        shot?.base64 ?? '',
        shot?.width ?? '',
        shot?.height ?? '',
      ),
    )) as [number, number];
    this.#buffered = buffered;
    if (outcome === -1) throw new AppError('limit', `collected text is longer than ${maxTextChars} characters`);
    return outcome === 1 ? 'accepted' : 'stale';
  }

  async take(key: CollectKey): Promise<CollectedState | undefined> {
    const reply = (await redisCall(this.#scripts.nexyTake(this.#key(key), this.#hardwareIndex(key.hardwareId), this.#index))) as [
      number,
      string?,
      string?,
      string?,
      string?,
      string?,
    ];
    this.#buffered = reply[0];
    if (reply.length === 1) return undefined;
    const [, seq, text, shot, width, height] = reply;
    return {
      lastSeq: Number(seq),
      text: text ?? '',
      screenshot: shot
        ? { base64: shot, ...(width ? { width: Number(width) } : {}), ...(height ? { height: Number(height) } : {}) }
        : undefined,
    };
  }

  async dropHardware(hardwareId: string): Promise<number> {
    const [dropped, buffered] = (await redisCall(this.#scripts.nexyDropHardware(this.#hardwareIndex(hardwareId), this.#index))) as [
      number,
      number,
    ];
    this.#buffered = buffered;
    return dropped;
  }

  async size(): Promise<number> {
    this.#buffered = (await redisCall(this.#scripts.nexySize(this.#index, this.#now() - this.#options.ttlMs))) as number;
    return this.#buffered;
  }

  /** The Redis connection belongs to the composition root, which closes it. */
  async close(): Promise<void> {}
}
