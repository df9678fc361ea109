import { AppError } from '../errors.js';
import { mergeSpeech } from '../protocol/collect-merge.js';

/** Identifies one utterance being collected. */
export interface CollectKey {
  readonly hardwareId: string;
  readonly sessionId: string;
}

export interface CollectedScreenshot {
  readonly base64: string;
  readonly width?: number;
  readonly height?: number;
}

/** A COLLECT's contribution: a piece of speech and/or a screenshot with its dimensions. */
export interface CollectPiece {
  readonly seq: number;
  readonly text: string;
  readonly screenshot?: CollectedScreenshot;
}

/** What a COMMIT takes out of the store. */
export interface CollectedState {
  readonly lastSeq: number;
  readonly text: string;
  readonly screenshot?: CollectedScreenshot;
}

export type AppendResult = 'accepted' | 'stale';

/**
 * Per-utterance COLLECT buffers. Async so that a shared (Redis) backend fits the same shape.
 * Buffers expire after their TTL and are bounded in number and total size.
 */
export interface CollectStore {
  /** Merges a piece into the buffer; a seq not greater than the last one is `stale` and dropped. */
  append(key: CollectKey, piece: CollectPiece): Promise<AppendResult>;
  /** Removes and returns the buffer atomically (undefined when there is none). */
  take(key: CollectKey): Promise<CollectedState | undefined>;
  /** Drops every buffer of a hardware id (InterruptSession). Returns how many were dropped. */
  dropHardware(hardwareId: string): Promise<number>;
  /** Buffers held now (for /status); asks the backend. */
  size(): Promise<number>;
  /**
   * Buffers held as the last operation saw them, without asking the backend again: what the
   * `nexy_collect_buffers` gauge shows after each COLLECT, COMMIT and interrupt.
   */
  readonly buffered: number;
  close(): Promise<void>;
}

export interface MemoryCollectStoreOptions {
  readonly ttlMs: number;
  readonly sweepIntervalMs: number;
  readonly maxBuffers: number;
  readonly maxTextChars: number;
  /** Bound on all buffered screenshot text together. */
  readonly maxTotalBytes: number;
  /** Injectable clock for tests. */
  readonly now?: () => number;
}

interface Buffer_ extends CollectedState {
  readonly hardwareId: string;
  readonly touchedAt: number;
  readonly bytes: number;
}

const keyOf = (key: CollectKey) => `${key.hardwareId}\u0000${key.sessionId}`;

/** In-process CollectStore for one server instance. */
export class MemoryCollectStore implements CollectStore {
  readonly #buffers = new Map<string, Buffer_>();
  readonly #options: MemoryCollectStoreOptions;
  readonly #now: () => number;
  #totalBytes = 0;
  #sweeper: NodeJS.Timeout | undefined;

  constructor(options: MemoryCollectStoreOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Starts the periodic sweep of expired buffers (expired ones are also ignored on read). */
  start(): void {
    this.#sweeper ??= setInterval(() => this.sweep(), this.#options.sweepIntervalMs).unref();
  }

  async append(key: CollectKey, piece: CollectPiece): Promise<AppendResult> {
    const id = keyOf(key);
    const current = this.#live(id);
    if (current && piece.seq <= current.lastSeq) return 'stale';
    const text = mergeSpeech(current?.text ?? '', piece.text);
    if (text.length > this.#options.maxTextChars) {
      throw new AppError('limit', `collected text is longer than ${this.#options.maxTextChars} characters`);
    }
    const screenshot = piece.screenshot ?? current?.screenshot;
    const bytes = text.length * 2 + (screenshot?.base64.length ?? 0);
    this.#delete(id);
    this.#buffers.set(id, { hardwareId: key.hardwareId, lastSeq: piece.seq, text, screenshot, touchedAt: this.#now(), bytes });
    this.#totalBytes += bytes;
    this.#evictOverflow(id);
    return 'accepted';
  }

  async take(key: CollectKey): Promise<CollectedState | undefined> {
    const id = keyOf(key);
    const current = this.#live(id);
    this.#delete(id);
    if (!current) return undefined;
    return { lastSeq: current.lastSeq, text: current.text, screenshot: current.screenshot };
  }

  async dropHardware(hardwareId: string): Promise<number> {
    let dropped = 0;
    for (const [id, buffer] of this.#buffers) {
      if (buffer.hardwareId === hardwareId) {
        this.#delete(id);
        dropped++;
      }
    }
    return dropped;
  }

  async size(): Promise<number> {
    return this.#buffers.size;
  }

  get buffered(): number {
    return this.#buffers.size;
  }

  /** Removes expired buffers. Map order is least-recently-touched first, so it stops early. */
  sweep(): void {
    const cutoff = this.#now() - this.#options.ttlMs;
    for (const [id, buffer] of this.#buffers) {
      if (buffer.touchedAt > cutoff) break;
      this.#delete(id);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
    this.#buffers.clear();
    this.#totalBytes = 0;
  }

  #live(id: string): Buffer_ | undefined {
    const buffer = this.#buffers.get(id);
    if (buffer && buffer.touchedAt <= this.#now() - this.#options.ttlMs) {
      this.#delete(id);
      return undefined;
    }
    return buffer;
  }

  #delete(id: string): void {
    const buffer = this.#buffers.get(id);
    if (!buffer) return;
    this.#totalBytes -= buffer.bytes;
    this.#buffers.delete(id);
  }

  /** Evicts the least recently touched buffers (never `keep`) until both bounds hold. */
  #evictOverflow(keep: string): void {
    for (const id of this.#buffers.keys()) {
      if (this.#buffers.size <= this.#options.maxBuffers && this.#totalBytes <= this.#options.maxTotalBytes) return;
      if (id !== keep) this.#delete(id);
    }
  }
}
