/**
 * A least-recently-used map bounded both in entries and in bytes: synthesized speech varies
 * widely in size, so a count alone would not bound memory.
 */

export interface LruLimits {
  /** At most this many entries; 0 disables the cache. */
  readonly maxEntries: number;
  /** At most this many bytes over all entries; 0 disables the cache. */
  readonly maxBytes: number;
}

export class LruCache<V> {
  readonly #limits: LruLimits;
  // A Map iterates in insertion order: re-inserting on use keeps the least recent first.
  readonly #entries = new Map<string, { readonly value: V; readonly bytes: number }>();
  #bytes = 0;

  constructor(limits: LruLimits) {
    this.#limits = limits;
  }

  /** The value, now the most recently used; undefined when absent. */
  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry.value;
  }

  /**
   * Stores the value as the most recently used, evicting the least recent until both limits
   * hold. A value larger than `maxBytes` is not stored (it would evict everything for nothing);
   * returns whether it was stored.
   */
  set(key: string, value: V, bytes: number): boolean {
    this.delete(key);
    if (this.#limits.maxEntries === 0 || this.#limits.maxBytes === 0 || bytes > this.#limits.maxBytes) return false;
    while (this.#entries.size >= this.#limits.maxEntries || this.#bytes + bytes > this.#limits.maxBytes) {
      const oldest = this.#entries.keys().next();
      if (oldest.done === true) break;
      this.delete(oldest.value);
    }
    this.#entries.set(key, { value, bytes });
    this.#bytes += bytes;
    return true;
  }

  delete(key: string): boolean {
    const entry = this.#entries.get(key);
    if (entry === undefined) return false;
    this.#entries.delete(key);
    this.#bytes -= entry.bytes;
    return true;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Bytes held, as declared to `set`. */
  get bytes(): number {
    return this.#bytes;
  }
}
